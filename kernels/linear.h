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
#include <cstdint>

namespace hemo::cpu {

template <class T>
void linear_fwd(int64_t rows, int64_t in, int64_t out, const T* x, const T* weight, const T* bias, T* y);
template <class T>
void linear_bwd_data(int64_t rows, int64_t in, int64_t out, const T* gy, const T* weight, T* gx);
template <class T>
void linear_bwd_weight(int64_t rows, int64_t in, int64_t out, const T* x, const T* gy, T* gweight, T* gbias);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/linear.cu, on cuBLAS): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T>
void linear_fwd(int64_t rows, int64_t in, int64_t out, const T* x, const T* weight, const T* bias, T* y);
template <class T>
void linear_bwd_data(int64_t rows, int64_t in, int64_t out, const T* gy, const T* weight, T* gx);
template <class T>
void linear_bwd_weight(int64_t rows, int64_t in, int64_t out, const T* x, const T* gy, T* gweight, T* gbias);

}  // namespace hemo::cuda
