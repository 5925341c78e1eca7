// CUDA activations: the formulas of kernels/activation_math.h, shared with the CPU reference.
#include "kernels/activation.h"
#include "kernels/activation_math.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
using activation_math::input_grad;
using activation_math::forward;

template <class T>
__global__ void activation_fwd_kernel(Activation a, int64_t n, const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t i : grid_stride(n)) y[i] = forward(a, x[i]);
}

template <class T>
__global__ void activation_bwd_kernel(Activation a, int64_t n, const T* __restrict__ x, const T* __restrict__ gy,
                                      T* __restrict__ gx) {
  for (int64_t i : grid_stride(n)) gx[i] = input_grad(a, x[i], gy[i]);
}
}  // namespace

template <class T>
void activation_fwd(Backend, Activation a, int64_t n, const T* x, T* y) {
  if (n == 0) return;
  HEMO_LAUNCH(activation_fwd_kernel<T>, grid_for(n, kThreads), kThreads, 0, a, n, x, y);
}

template <class T>
void activation_bwd(Backend, Activation a, int64_t n, const T* x, const T* gy, T* gx) {
  if (n == 0) return;
  HEMO_LAUNCH(activation_bwd_kernel<T>, grid_for(n, kThreads), kThreads, 0, a, n, x, gy, gx);
}

template void activation_fwd<float>(Backend, Activation, int64_t, const float*, float*);
template void activation_bwd<float>(Backend, Activation, int64_t, const float*, const float*, float*);

}  // namespace hemo::cuda
