// General matrix multiply, the workhorse under convolution and linear layers.
//
//   C = alpha * op(A) op(B) + beta * C        op(X) = X or X^T
//
// Row-major: op(A) is m x k, op(B) is k x n, C is m x n. Element (i, j) of a row-major matrix X
// with leading dimension ldx is x[i * ldx + j]; A is stored m x k (lda >= k) when trans_a is
// false and k x m (lda >= m) when it is true, B likewise k x n (ldb >= n) or n x k (ldb >= k),
// and ldc >= n. beta == 0 OVERWRITES C without reading it (NaN or garbage there does not
// propagate, as in BLAS); otherwise C is scaled and accumulated into. k == 0 gives C = beta C.
//
// The CPU version is a cache-blocked GEMM in the GotoBLAS/BLIS style (details in
// kernels/cpu/gemm.cpp): both operands are packed into k-major slivers and a register-blocked
// micro-kernel accumulates one small tile of C at a time. The micro-kernel is written once with
// GCC vector types and compiled for AVX-512, AVX2+FMA and baseline x86-64 (elsewhere, one generic
// variant); the best one the running CPU supports is picked at the first call (the environment
// variable HEMO_GEMM_ISA=avx512|avx2|sse2 picks another, e.g. for valgrind). Called outside an
// OpenMP parallel region, gemm shares its work among the OpenMP threads; inside one it runs on
// the calling thread, so callers may parallelize over independent GEMMs without
// oversubscribing. Summation order (and FMA use) depends on the variant and the blocking, so
// results agree with a naive loop to rounding, not bit for bit; for a given variant, thread
// count does not change them.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/backend.h"

namespace hemo {

// The shape of one product (the contract above): op(A) m x k, op(B) k x n, C m x n, and the
// leading dimensions of A, B and C as stored.
struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

}  // namespace hemo

namespace hemo::cpu {

template <class T> void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);

// bfloat16 products (--precision bf16, kernels/precision.h). While set_gemm_bf16(true) is in
// force, gemm<float> rounds every element of op(A) and op(B) to bfloat16 (core/bf16.h: nearest,
// ties to even) as it packs them, and sums the products, which are exact in float32, in float32:
// the arithmetic of a bf16 GEMM with float32 accumulation (cuBLAS's bf16 inputs with
// CUBLAS_COMPUTE_32F; PyTorch's autocast). C stays float32, so callers keep float32 tensors and
// weights; each product is within k 2^-8 sum|a b| of the float32 one (two roundings of 2^-9 per
// product, plus float32 summation). Where the CPU has Intel AMX and the kernel grants its
// use (Linux arch_prctl), the products run on the AMX tile unit (TDPBF16PS, 16x16 float tiles,
// about 14x the float32 FMA rate of this project's Xeon); elsewhere the float32 micro-kernel runs
// on the rounded values (the same numbers up to summation order). AVX-512 BF16's VDPBF16PS is not
// used: it ran at half the multiply-add rate of float32 FMA on the same machine (docs/perf.md).
// A process-wide mode, like cuBLAS's math mode; gemm<double> ignores it.
void set_gemm_bf16(bool on);
bool gemm_bf16();

// The micro-kernel variant gemm<T> runs, e.g. "avx512 8x32" (for benchmarks and logs); with
// set_gemm_bf16(true), gemm<float>'s bf16 variant, e.g. "amx bf16 32x32".
template <class T> const char* gemm_kernel_name();

// For tests and benchmarks: makes gemm use the variant for instruction set `isa` (on x86-64
// "amx" (bf16 products only), "avx512", "avx2" or "sse2"; elsewhere "generic") if this CPU runs
// it, and returns whether it did. Not safe while another thread is inside gemm.
bool gemm_select_isa(const std::string& isa);

}  // namespace hemo::cpu

// cuBLAS (kernels/cuda/blas.cpp): device pointers, float only, on the current stream; TF32 only
// when allowed (kernels/cuda/blas.h). The same contract, beta == 0 never reading C included.
namespace hemo::cuda {
template <class T> void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);
}  // namespace hemo::cuda
