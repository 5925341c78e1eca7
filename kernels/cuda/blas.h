// cuBLAS: the GEMM behind linear layers (and any other matrix product on the GPU).
//
// One cuBLAS handle per thread and device, made on first use and bound to the calling thread's
// current stream at every call. Handles are never destroyed (a thread that used cuBLAS leaves
// one behind at exit): destroying them from static or thread-exit destructors can run after the
// CUDA runtime has shut down.
//
// TF32: OFF by default, so a float GEMM is computed in full float32 and matches the CPU reference
// to float rounding. set_allow_tf32(true), or HEMO_ALLOW_TF32=1 in the environment, lets cuBLAS
// and cuDNN use TF32 tensor cores (about 10 mantissa bits per product: relative errors near 1e-3).
#pragma once
#include <cublas_v2.h>

#include <cstdint>

namespace hemo::cuda {

void set_allow_tf32(bool on);
bool allow_tf32();

// This thread's handle for the current device, bound to the current stream, math mode set from
// allow_tf32().
cublasHandle_t cublas_handle();

// Row-major GEMM: C = alpha op(A) op(B) + beta C with C [m, n], op(A) [m, k], op(B) [k, n];
// op(X) = X^T when trans_x. lda, ldb, ldc are the row strides (in elements) of A, B and C as
// stored: A is [m, k] (or [k, m] when trans_a) with row stride lda, and so on. Device pointers;
// with beta == 0, C is overwritten and its old contents never read (NaN-safe).
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace hemo::cuda
