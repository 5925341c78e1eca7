// CUDA fully connected layer (the contract is kernels/linear.h): cuBLAS GEMMs arranged as the CPU
// reference arranges its GEMMs, the bias gradient a column sum (kernels/cuda/reduce.cu).
#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"

namespace hemo::cuda {

namespace {
// A leading dimension for the GEMM, which (as BLAS) wants at least 1 even for empty matrices.
inline int64_t ld(int64_t cols) { return std::max<int64_t>(cols, 1); }

template <class T>
__global__ void fill_rows_kernel(int64_t rows, int64_t out, const T* __restrict__ bias, T* __restrict__ y) {
  for (int64_t e : grid_stride(rows * out)) y[e] = bias[e % out];
}
}  // namespace

template <class T>
void linear_fwd(int64_t rows, int64_t in, int64_t out, const T* x, const T* weight, const T* bias, T* y) {
  if (bias && rows * out > 0) {  // y = bias in every row, then y += x W^T
    HEMO_LAUNCH(fill_rows_kernel<T>, grid_for(rows * out, kThreads), kThreads, 0, rows, out, bias, y);
  }
  gemm<T>(false, true, rows, out, in, T(1), x, ld(in), weight, ld(in), bias ? T(1) : T(0), y, ld(out));
}

template <class T>
void linear_bwd_data(int64_t rows, int64_t in, int64_t out, const T* gy, const T* weight, T* gx) {
  gemm<T>(false, false, rows, in, out, T(1), gy, ld(out), weight, ld(in), T(0), gx, ld(in));
}

template <class T>
void linear_bwd_weight(int64_t rows, int64_t in, int64_t out, const T* x, const T* gy, T* gweight, T* gbias) {
  if (gweight) gemm<T>(true, false, out, in, rows, T(1), gy, ld(out), x, ld(in), T(0), gweight, ld(in));
  if (gbias) sum_axis<T>(1, rows, out, 1.0, gy, gbias);
}

template void linear_fwd<float>(int64_t, int64_t, int64_t, const float*, const float*, const float*, float*);
template void linear_bwd_data<float>(int64_t, int64_t, int64_t, const float*, const float*, float*);
template void linear_bwd_weight<float>(int64_t, int64_t, int64_t, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
