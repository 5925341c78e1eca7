// cuda::gemm<float> (kernels/gemm.h): the float32 cuBLAS call, or under bf16 products
// (kernels/cuda/blas.h) the two operands rounded to packed bf16 scratch copies
// (kernels/bf16_convert.h) and the bf16 cuBLAS call with float32 accumulation and C. Compiled in
// both builds, so the emulation build runs the rounding kernels before its stand-in for cuBLAS.
#include <type_traits>

#include "core/cuda/device_buffer.h"
#include "kernels/bf16_convert.h"
#include "kernels/cuda/blas.h"

namespace hemo::cuda {

namespace {
// op(X)'s stored matrix, rows x cols with leading dimension ld, rounded into a packed copy.
DeviceBuffer bf16_copy(int64_t rows, int64_t cols, int64_t ld, const float* x) {
  DeviceBuffer out(static_cast<size_t>(rows * cols) * sizeof(bf16));
  to_bf16(backend, rows, cols, ld, x, out.as<bf16>());
  return out;
}
}  // namespace

template <class T>
void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  static_assert(std::is_same_v<T, float>, "the CUDA backend computes in float32");
  if (!bf16_products() || s.m == 0 || s.n == 0 || s.k == 0) return cublas_gemm(s, alpha, a, b, beta, c);
  const int64_t a_cols = s.trans_a ? s.m : s.k, b_cols = s.trans_b ? s.k : s.n;
  const DeviceBuffer a16 = bf16_copy(s.trans_a ? s.k : s.m, a_cols, s.lda, a);
  const DeviceBuffer b16 = bf16_copy(s.trans_b ? s.n : s.k, b_cols, s.ldb, b);
  GemmShape packed = s;
  packed.lda = a_cols;
  packed.ldb = b_cols;
  cublas_gemm_bf16(packed, alpha, a16.as<bf16>(), b16.as<bf16>(), beta, c);
}

template void gemm<float>(Backend, const GemmShape&, float, const float*, const float*, float, float*);

}  // namespace hemo::cuda
