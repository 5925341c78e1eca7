// CUDA fully connected layer (the contract is kernels/linear.h): cuBLAS GEMMs arranged as the CPU
// reference arranges its GEMMs (kernels/linear.h: linear_gemm), the bias gradient a column sum
// (kernels/cuda/reduce.cu).
#include "kernels/cuda/launch.cuh"
#include "kernels/linear.h"
#include "kernels/reduce.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void fill_rows_kernel(int64_t rows, int64_t out, const T* __restrict__ bias, T* __restrict__ y) {
  for (int64_t e : grid_stride(rows * out)) y[e] = bias[e % out];
}
}  // namespace

template <class T>
void linear_fwd(Backend, const LinearShape& s, const T* x, const T* weight, const T* bias, T* y) {
  if (bias && s.rows * s.out > 0) {  // y = bias in every row, then y += x W^T
    HEMO_LAUNCH(fill_rows_kernel<T>, grid_for(s.rows * s.out, kThreads), kThreads, 0, s.rows, s.out, bias, y);
  }
  linear_gemm::forward(backend, s, x, weight, bias != nullptr, y);
}

template <class T>
void linear_bwd_data(Backend, const LinearShape& s, const T* gy, const T* weight, T* gx) {
  linear_gemm::backward_data(backend, s, gy, weight, gx);
}

template <class T>
void linear_bwd_weight(Backend, const LinearShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  if (gweight) linear_gemm::backward_weight(backend, s, x, gy, gweight);
  if (gbias) sum_axis<T>(backend, 1, s.rows, s.out, 1.0, gy, gbias);
}

template void linear_fwd<float>(Backend, const LinearShape&, const float*, const float*, const float*, float*);
template void linear_bwd_data<float>(Backend, const LinearShape&, const float*, const float*, float*);
template void linear_bwd_weight<float>(Backend, const LinearShape&, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
