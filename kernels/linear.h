// Fully connected layer, torch's F.linear, over row-major matrices.
//
// Shapes: x [rows, in], weight [out, in], bias [out] (may be null), y [rows, out].
//   forward:        y = x weight^T + bias                     (y[i][o] = bias[o] + sum_f x[i][f] weight[o][f])
//   bwd_data:       gx = gy weight                            [rows, in]. OVERWRITES gx.
//   bwd_weight:     gweight = gy^T x                          [out, in]
//                   gbias[o] = sum_i gy[i][o] (accumulated in double)
//                   OVERWRITES gweight and gbias; either may be null (not wanted).
// The products run on the GEMM of kernels/gemm.h.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/gemm.h"

namespace hemo {

struct LinearShape {
  int64_t rows = 0, in = 0, out = 0;  // x [rows, in], weight [out, in], y [rows, out]
};

namespace cpu {
template <class T> void linear_fwd(Backend, const LinearShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void linear_bwd_data(Backend, const LinearShape& s, const T* gy, const T* weight, T* gx);
template <class T> void linear_bwd_weight(Backend, const LinearShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace cpu

// CUDA (kernels/cuda/linear.cu, on cuBLAS): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void linear_fwd(Backend, const LinearShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void linear_bwd_data(Backend, const LinearShape& s, const T* gy, const T* weight, T* gx);
template <class T> void linear_bwd_weight(Backend, const LinearShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace cuda

// The three products, written once for both backends (the tag picks cpu:: or cuda::gemm). BLAS
// wants leading dimensions of at least 1, even for empty matrices.
namespace linear_gemm {
inline int64_t ld(int64_t cols) { return std::max<int64_t>(cols, 1); }
// y = x weight^T (+ y when accumulate: y already holds the bias rows)
template <class B, class T> void forward(B backend, const LinearShape& s, const T* x, const T* weight, bool accumulate, T* y) {
  gemm(backend, {.trans_b = true, .m = s.rows, .n = s.out, .k = s.in, .lda = ld(s.in), .ldb = ld(s.in), .ldc = ld(s.out)},
       T(1), x, weight, accumulate ? T(1) : T(0), y);
}
// gx = gy weight
template <class B, class T> void backward_data(B backend, const LinearShape& s, const T* gy, const T* weight, T* gx) {
  gemm(backend, {.m = s.rows, .n = s.in, .k = s.out, .lda = ld(s.out), .ldb = ld(s.in), .ldc = ld(s.in)}, T(1), gy,
       weight, T(0), gx);
}
// gweight = gy^T x
template <class B, class T> void backward_weight(B backend, const LinearShape& s, const T* x, const T* gy, T* gweight) {
  gemm(backend, {.trans_a = true, .m = s.out, .n = s.in, .k = s.rows, .lda = ld(s.out), .ldb = ld(s.in), .ldc = ld(s.in)},
       T(1), gy, x, T(0), gweight);
}
}  // namespace linear_gemm

}  // namespace hemo
