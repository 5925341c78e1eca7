// cuBLAS GEMM (TF32 off and on) against the float64 CPU GEMM, and dense and depthwise
// convolutions (cuDNN and hemo's depthwise kernels), forward and backward, against the CPU
// reference, through nn::conv2d.
#include <doctest/doctest.h>

#include "kernels/gemm.h"
#include "nn/ops_conv.h"
#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA

namespace {
// Restores the TF32 switch at scope exit.
struct Tf32Guard {
  bool saved = cuda::allow_tf32();
  explicit Tf32Guard(bool on) { cuda::set_allow_tf32(on); }
  ~Tf32Guard() { cuda::set_allow_tf32(saved); }
};
}  // namespace

TEST_CASE("cuBLAS gemm matches the CPU gemm (in float64) for every transpose, TF32 off and on") {
  HEMO_REQUIRE_GPU();
  struct Size {
    int64_t m, n, k;
  };
  uint64_t seed = 4000;
  for (const Size& z : {Size{1, 1, 1}, Size{7, 13, 5}, Size{33, 17, 300}, Size{64, 500, 1280}, Size{5, 3, 0}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (bool tf32 : {false, true}) {
        for (double beta : {0.0, 0.5}) {
          CAPTURE(z.m);
          CAPTURE(z.n);
          CAPTURE(z.k);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(tf32);
          CAPTURE(beta);
          Tf32Guard guard(tf32);
          const int64_t lda = std::max<int64_t>(ta ? z.m : z.k, 1), ldb = std::max<int64_t>(tb ? z.k : z.n, 1);
          Tensor a = rand_f32(ta ? Shape{z.k, z.m} : Shape{z.m, z.k}, ++seed);
          Tensor b = rand_f32(tb ? Shape{z.n, z.k} : Shape{z.k, z.n}, ++seed);
          Tensor c = rand_f32({z.m, z.n}, ++seed);
          Tensor ag = on_gpu(a), bg = on_gpu(b);
          Tensor cg = beta == 0 ? Tensor::empty({z.m, z.n}, DType::f32, gpu()) : on_gpu(c);  // poisoned when beta 0
          cuda::gemm<float>(
              cuda::backend,
              {.trans_a = ta, .trans_b = tb, .m = z.m, .n = z.n, .k = z.k, .lda = lda, .ldb = ldb, .ldc = z.n}, 1.25f,
              ag.data<float>(), bg.data<float>(), static_cast<float>(beta), cg.data<float>());
          Tensor ref = c.to(DType::f64).clone(), a64 = a.to(DType::f64), b64 = b.to(DType::f64);
          cpu::gemm<double>(
              cpu::backend,
              {.trans_a = ta, .trans_b = tb, .m = z.m, .n = z.n, .k = z.k, .lda = lda, .ldb = ldb, .ldc = z.n}, 1.25,
              a64.data<double>(), b64.data<double>(), beta, ref.data<double>());
          // TF32 keeps 10 mantissa bits per operand: errors near 5e-4 of the result's scale, a few
          // times that at the worst element; float32 stays far below 1e-5.
          HEMO_CHECK_CLOSE(cg, ref, tf32 ? 1e-2 : 1e-5, "gemm");
        }
      }
    }
  }
}

#endif  // HEMO_WITH_CUDA

namespace {
struct ConvCase {
  Shape x;                        // [n, c, h, w]
  int64_t k, r, s;                // weight [k, c / groups, r, s]
  nn::Pair stride, pad, dilation;
  int64_t groups;
  bool bias;
};

void check_conv(const ConvCase& z, double tol, uint64_t seed) {
  CAPTURE(shape_str(z.x));
  CAPTURE(z.k);
  CAPTURE(z.r);
  CAPTURE(z.stride[0]);
  CAPTURE(z.groups);
  CAPTURE(z.bias);
  std::vector<Tensor> in = two(rand_f32(z.x, seed), rand_f32({z.k, z.x[1] / z.groups, z.r, z.s}, seed + 1));
  if (z.bias) in.push_back(rand_f32({z.k}, seed + 2));
  check_op("cuda conv2d", in,
           [&](const std::vector<Tensor>& t) {
             return nn::conv2d(t[0], t[1], z.bias ? t[2] : Tensor(), z.stride, z.pad, z.dilation, z.groups);
           },
           tol, tol, seed + 3);
}
}  // namespace

TEST_CASE("cuda conv2d (cuDNN) matches the CPU reference, forward and backward") {
  HEMO_REQUIRE_GPU();
  const ConvCase cases[] = {
      {{3, 5, 7, 13}, 11, 3, 3, {1, 1}, {1, 1}, {1, 1}, 1, true},     // odd everything, same padding
      {{2, 3, 33, 31}, 16, 7, 7, {2, 2}, {3, 3}, {1, 1}, 1, true},    // a ResNet stem, small
      {{3, 8, 9, 9}, 12, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, false},     // pointwise (MobileNet's 1x1)
      {{2, 6, 11, 10}, 9, 3, 3, {2, 1}, {1, 0}, {1, 1}, 3, true},     // grouped, stride 2x1
      {{1, 4, 12, 12}, 4, 3, 3, {1, 1}, {2, 2}, {2, 2}, 1, false},    // dilated
      {{4, 32, 28, 28}, 64, 3, 3, {2, 2}, {1, 1}, {1, 1}, 1, true},   // a downsampling block
      {{0, 3, 8, 8}, 4, 3, 3, {1, 1}, {1, 1}, {1, 1}, 1, true},       // an empty batch
  };
  uint64_t seed = 6000;
  // Winograd and FFT algorithms round more than a direct sum (still near 1e-5 of the scale in
  // float32); a wrong index or a missed term is off by the scale itself.
  for (const ConvCase& z : cases) check_conv(z, 3e-4, seed += 10);
#if HEMO_WITH_CUDA
  CHECK(cuda::cudnn_cached_algorithms() >= 3);
  Tf32Guard guard(true);  // TF32: about 10 mantissa bits per product
  for (const ConvCase& z : cases) check_conv(z, 1e-2, seed += 10);
#endif
}

TEST_CASE("cuda depthwise conv2d matches the CPU reference: 3x3 and 5x5, stride 1 and 2, as MobileNet") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 7000;
  for (int64_t r : {3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (bool bias : {false, true}) {
        const int64_t pad = r / 2;
        for (const Shape& x : {Shape{3, 5, 7, 13}, Shape{2, 32, 56, 56}, Shape{1, 17, 2, 3}, Shape{8, 96, 15, 15}}) {
          // Depthwise tree sums run in double and tap sums in the reference's order: float rounding only.
          check_conv({x, x[1], r, r, {stride, stride}, {pad, pad}, {1, 1}, x[1], bias}, 1e-5, seed += 10);
        }
      }
    }
  }
  // Unequal kernel, stride and padding per dimension.
  check_conv({{3, 6, 10, 9}, 6, 3, 5, {2, 1}, {0, 2}, {1, 1}, 6, true}, 1e-5, seed += 10);
}
