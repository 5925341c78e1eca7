// --precision bf16 on CUDA (kernels/precision.h, kernels/cuda/blas.h): the float32 <-> bf16
// kernels against their CPU reference bit for bit, cuda::gemm's bf16 products against the CPU's
// bf16 GEMM, and the convolutions and linear layers of tests/support/bf16_check.h, NCHW and
// channels-last, against float32.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/bf16.h"
#include "kernels/bf16_convert.h"
#include "kernels/gemm.h"
#include "tests/cuda/cuda_test.h"
#include "tests/support/bf16_check.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA

namespace {
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

template <class T>
std::vector<T> device_to_host(const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  const T* p = h.data<T>();
  return std::vector<T>(p, p + h.numel());
}
}  // namespace

TEST_CASE("cuda to_bf16 and from_bf16 match the CPU reference bit for bit, specials and strides included") {
  HEMO_REQUIRE_GPU();
  const int64_t rows = 37, cols = 300, ld = 311;
  std::vector<float> src = rand_f32({rows, ld}, 9100, 1e-3, 1e3).to_vector<float>();
  const float inf = std::numeric_limits<float>::infinity();
  // Ties in both directions, NaNs (one whose payload lies only in the low bits), infinities, a float
  // above bf16's largest, zeros of both signs, subnormals.
  const float specials[] = {from_bits(0x3f808000u), from_bits(0x3f818000u), from_bits(0x3f808001u),
                            std::numeric_limits<float>::quiet_NaN(), from_bits(0x7f800001u), from_bits(0xff800001u),
                            inf, -inf, std::numeric_limits<float>::max(), -0.0f, 0.0f, from_bits(0x00000001u),
                            from_bits(0x8000ffffu), from_bits(0x00018000u)};
  for (size_t i = 0; i < std::size(specials); ++i) src[i * 7] = specials[i];
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = cols; j < ld; ++j) src[static_cast<size_t>(i * ld + j)] = from_bits(0x7fc0dead);  // never read

  std::vector<bf16> want(static_cast<size_t>(rows * cols));
  cpu::to_bf16(cpu::backend, rows, cols, ld, src.data(), want.data());
  const Tensor src_g = Tensor::from_vector(src, {rows, ld}).to(gpu());
  Tensor got_g = Tensor::empty({rows, cols}, DType::bf16, gpu());
  cuda::to_bf16(cuda::backend, rows, cols, ld, src_g.data<float>(), got_g.data<bf16>());
  const std::vector<bf16> got = device_to_host<bf16>(got_g);
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i].bits != want[i].bits;
  CHECK_MESSAGE(bad == 0, bad, " of ", got.size(), " rounded values differ from the CPU's");
  CHECK(std::isnan(bf16_to_float(want[3 * 7])));
  CHECK(std::isnan(bf16_to_float(want[4 * 7])));  // low-bit payload: still a NaN, not an infinity

  std::vector<float> wide_want(want.size());
  cpu::from_bf16(cpu::backend, rows * cols, want.data(), wide_want.data());
  Tensor wide_g = Tensor::empty({rows, cols}, DType::f32, gpu());
  cuda::from_bf16(cuda::backend, rows * cols, got_g.data<bf16>(), wide_g.data<float>());
  const std::vector<float> wide = device_to_host<float>(wide_g);
  CHECK(std::memcmp(wide.data(), wide_want.data(), wide.size() * sizeof(float)) == 0);
}

TEST_CASE("cuda gemm with bf16 products matches the CPU's bf16 GEMM, and differs from float32") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 9200;
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    const int64_t m = 19, n = 45, k = 130, pad = 3;
    CAPTURE(ta);
    CAPTURE(tb);
    // Operands stored with padded rows whose padding holds NaN: to_bf16 must never read it.
    const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    const int64_t lda = a_cols + pad, ldb = b_cols + pad;
    std::vector<float> a = rand_f32({a_rows, lda}, ++seed).to_vector<float>();
    std::vector<float> b = rand_f32({b_rows, ldb}, ++seed).to_vector<float>();
    for (int64_t i = 0; i < a_rows; ++i)
      for (int64_t j = a_cols; j < lda; ++j) a[static_cast<size_t>(i * lda + j)] = std::nanf("");
    for (int64_t i = 0; i < b_rows; ++i)
      for (int64_t j = b_cols; j < ldb; ++j) b[static_cast<size_t>(i * ldb + j)] = std::nanf("");
    const std::vector<float> c0 = rand_f32({m, n}, ++seed).to_vector<float>();
    const GemmShape s{.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = n};
    const float alpha = 1.25f, beta = 0.5f;

    const auto on_cpu = [&](bool bf16_on, const std::vector<float>& aa, const std::vector<float>& bb) {
      MathGuard guard(false, bf16_on);
      std::vector<float> c = c0;
      cpu::gemm<float>(cpu::backend, s, alpha, aa.data(), bb.data(), beta, c.data());
      return c;
    };
    const std::vector<float> want = on_cpu(true, a, b), fp32 = on_cpu(false, a, b);
    std::vector<float> abs_a = a, abs_b = b, abs_c0 = c0;
    for (float& v : abs_a) v = std::fabs(v);
    for (float& v : abs_b) v = std::fabs(v);
    std::vector<float> mag;
    {
      MathGuard guard(false, false);
      mag = std::vector<float>(c0.size(), 0.0f);
      cpu::gemm<float>(cpu::backend, s, alpha, abs_a.data(), abs_b.data(), 0.0f, mag.data());
    }
    Tensor ag = Tensor::from_vector(a, {a_rows, lda}).to(gpu()), bg = Tensor::from_vector(b, {b_rows, ldb}).to(gpu());
    Tensor cg = Tensor::from_vector(c0, {m, n}).to(gpu());
    {
      MathGuard guard(false, true);
      cuda::gemm<float>(cuda::backend, s, alpha, ag.data<float>(), bg.data<float>(), beta, cg.data<float>());
    }
    const std::vector<float> got = cg.to_vector<float>();
    double worst = 0, differs = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double scale = mag[i] + beta * std::fabs(c0[i]) + 1e-30;
      const double r = std::fabs(static_cast<double>(got[i]) - want[i]) / (1e-5 * scale);
      worst = std::isnan(r) ? INFINITY : std::max(worst, r);
      differs = std::max(differs, std::fabs(static_cast<double>(got[i]) - fp32[i]) / (1e-5 * scale));
    }
    MESSAGE("gemm ta=", ta, " tb=", tb, ": worst |cuda - cpu bf16| / (1e-5 magnitude) ", worst,
            "; largest |cuda - float32| ", differs, " of them");
    CHECK(worst <= 1);
    CHECK(differs > 10);
  }
}

TEST_CASE("cuda convolutions and linear layers in bf16 match float32 within bf16's rounding, NCHW and NHWC") {
  HEMO_REQUIRE_GPU();
  const double cudnn_output_rounding = std::ldexp(1.0, -9);  // cuDNN returns bf16 (linear's cuBLAS does not)
  check_bf16_cases(gpu(), MemoryFormat::contiguous, cudnn_output_rounding);
  check_bf16_cases(gpu(), MemoryFormat::channels_last, cudnn_output_rounding);
  CHECK_FALSE(cuda::bf16_products());
}

#endif  // HEMO_WITH_CUDA
