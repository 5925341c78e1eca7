// Shared by the cuda suite: the runtime GPU check that skips visibly, output poisoning, and the
// CPU-versus-GPU comparison of an op's forward and backward.
//
// Skipping: with no visible GPU (or a build without CUDA) every test case returns at once after
// printing "[hemo-cuda] SKIPPED: <reason>"; tests/CMakeLists.txt tells ctest that this line means
// the test was skipped, so ctest reports test_cuda as "Skipped", never as passed, and the suite
// still succeeds. The check is made at run time: the same binary runs everything on a GPU machine.
//
// Poisoning: every CUDA block the caching allocator hands out is filled with 0xFF bytes (NaN), so
// any output element a kernel fails to write compares as NaN and fails (HEMO_CUDA_POISON=0 turns
// it off, for compute-sanitizer's initcheck, which then sees unwritten memory itself).
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/storage.h"
#include "tensor/tensor.h"
#include "tests/support/compare.h"
#include "tests/support/random.h"
#if HEMO_WITH_CUDA
#include "core/cuda_memory.h"
#include "kernels/cuda/blas.h"
#include "kernels/gemm.h"
#endif

namespace hemo::test {

inline bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

// True when a GPU is there to test on. Otherwise prints the skip line (in every test case, so a
// filtered run shows it too) and returns false. Also turns the allocator's poisoning on.
inline bool gpu_or_skip() {
  if (!cuda_available()) {
    const std::string line = std::string("[hemo-cuda] SKIPPED: ") +
                             (HEMO_WITH_CUDA ? "no CUDA device is visible (cudaGetDeviceCount found none, or no driver)"
                                             : "this hemo was built without CUDA (HEMO_CUDA=OFF, or no toolkit)");
    MESSAGE(line);
    return false;
  }
#if HEMO_WITH_CUDA
  cuda_set_debug_fill(!env_is("HEMO_CUDA_POISON", "0"));
#endif
  return true;
}

#define HEMO_REQUIRE_GPU() \
  if (!::hemo::test::gpu_or_skip()) return

// True under compute-sanitizer (tools/gpu-check.sh sets HEMO_SANITIZER): test cases that make a
// CUDA call fail on purpose skip that part, since the sanitizer counts every failed API call.
inline bool under_sanitizer() {
  const char* v = std::getenv("HEMO_SANITIZER");
  return v && v[0] != '\0';
}

inline Device gpu() { return Device::cuda(0); }

// Whether the device is hemo's emulator (a -DHEMO_CUDA=EMULATE build), where cuDNN's graphs are the
// CPU reference's arithmetic: tests compare exactly there and within tolerances on a GPU.
#if defined(HEMO_CUDA_EMULATED)
inline constexpr bool kEmulated = true;
#else
inline constexpr bool kEmulated = false;  // (a real CUDA build leaves HEMO_CUDA_EMULATED undefined)
#endif

// A dense convolution of the fusion tests (conv_fusion_cuda_test.cpp, conv_stats_cuda_test.cpp):
// x's shape, k output channels, an r x r kernel, stride, padding, groups.
struct ConvCase {
  Shape x;
  int64_t k, r, stride, pad, groups;
};
// 3x3 padded, 1x1, 3x3 stride 2 on an odd plane, and a grouped one (never asked of cuDNN's graphs).
inline const std::vector<ConvCase> kConvCases = {
    {{2, 8, 9, 9}, 16, 3, 1, 1, 1}, {{3, 16, 8, 8}, 8, 1, 1, 0, 1}, {{2, 8, 11, 10}, 8, 3, 2, 1, 1},
    {{2, 8, 8, 8}, 8, 3, 1, 1, 2}};

#if HEMO_WITH_CUDA
// Sets the math switches for a scope and restores them at its exit: TF32 (kernels/cuda/blas.h)
// and both devices' bf16 products (kernels/gemm.h, blas.h).
struct MathGuard {
  bool tf32 = cuda::allow_tf32(), cpu_bf16 = cpu::gemm_bf16(), cuda_bf16 = cuda::bf16_products();
  MathGuard(bool tf32_on, bool bf16_on) {
    cuda::set_allow_tf32(tf32_on);
    cpu::set_gemm_bf16(bf16_on);
    cuda::set_bf16_products(bf16_on);
  }
  ~MathGuard() {
    cuda::set_allow_tf32(tf32);
    cpu::set_gemm_bf16(cpu_bf16);
    cuda::set_bf16_products(cuda_bf16);
  }
  MathGuard(const MathGuard&) = delete;
  MathGuard& operator=(const MathGuard&) = delete;
};
#endif

// float32 random data, never zero (magnitudes in [lo, hi]).
inline Tensor rand_f32(const Shape& shape, uint64_t seed, double lo = 0.1, double hi = 1.0) {
  return random_tensor(shape, seed, DType::f32, lo, hi);
}

inline Tensor on_gpu(const Tensor& t) { return t.detach().to(gpu()); }

// Two op inputs, built without an initializer_list: GCC 12 at -O3 reports a false
// -Warray-bounds when a two-Tensor std::initializer_list becomes a vector.
inline std::vector<Tensor> two(Tensor a, Tensor b) {
  std::vector<Tensor> v;
  v.reserve(3);
  v.push_back(std::move(a));
  v.push_back(std::move(b));
  return v;
}

// Exact equality (bit for bit, NaN never equal), reporting the first difference.
inline void check_equal(const Tensor& actual, const Tensor& expected, const std::string& what) {
  REQUIRE(actual.shape() == expected.shape());
  std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &e[i], sizeof(float)) != 0 || a[i] != a[i]) {
      if (bad++ == 0) first = i;
    }
  }
  CHECK_MESSAGE(bad == 0, cat(what, ": ", bad, "/", a.size(), " elements differ; first at ", first, ": got ",
                             bad ? a[first] : 0.0f, ", expected ", bad ? e[first] : 0.0f));
}

// tol > 0: compare.h's magnitude-scaled comparison; tol == 0: bit-for-bit equality.
inline void expect_close(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  if (tol == 0) {
    check_equal(actual, expected, what);
  } else {
    HEMO_CHECK_CLOSE(actual, expected, tol, what);
  }
}

// Runs `op` once on CPU leaves and once on GPU leaves holding the same values, then backward from
// the same random output gradient, and compares the output and every input's gradient with the
// CPU's (expect_close). Inputs are float32 CPU tensors; each becomes a
// leaf that requires grad on both sides.
using Op = std::function<Tensor(const std::vector<Tensor>&)>;
inline void check_op(const std::string& what, const std::vector<Tensor>& inputs, const Op& op, double tol_fwd,
                     double tol_bwd, uint64_t seed) {
  std::vector<Tensor> c, g;
  for (const Tensor& t : inputs) {
    c.push_back(t.detach().clone().requires_grad_());
    g.push_back(on_gpu(t).requires_grad_());
  }
  Tensor yc = op(c), yg = op(g);
  REQUIRE(yg.is_cuda());
  expect_close(yg, yc, tol_fwd, what + ": forward");
  Tensor gy = rand_f32(yc.shape(), seed);
  yc.backward(gy);
  yg.backward(on_gpu(gy));
  for (size_t i = 0; i < inputs.size(); ++i) {
    REQUIRE(g[i].grad().defined());
    CHECK(g[i].grad().is_cuda());
    expect_close(g[i].grad(), c[i].grad(), tol_bwd, cat(what, ": gradient of input ", i));
  }
}

}  // namespace hemo::test
