// CUDA activations: the same formulas as kernels/cpu/activation.cpp, element by element (the
// comparisons are written as std::max/std::min are, so NaN handling matches too).
#include "kernels/activation.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
template <class T> __device__ T max_of(T a, T b) { return (a < b) ? b : a; }  // std::max
template <class T> __device__ T min_of(T a, T b) { return (b < a) ? b : a; }  // std::min
template <class T> __device__ T relu6(T v) { return min_of(max_of(v, T(0)), T(6)); }
template <class T> __device__ T sigmoid(T v) { return T(1) / (T(1) + exp(-v)); }

template <class T>
__device__ T forward(Activation a, T v) {
  switch (a) {
    case Activation::relu: return max_of(v, T(0));
    case Activation::relu6: return relu6(v);
    case Activation::hardsigmoid: return relu6(v + T(3)) / T(6);
    case Activation::hardswish: return v * relu6(v + T(3)) / T(6);
    case Activation::sigmoid: return sigmoid(v);
  }
  return v;
}

template <class T>
__device__ T derivative(Activation a, T v) {
  switch (a) {
    case Activation::relu: return v > T(0) ? T(1) : T(0);
    case Activation::relu6: return (v > T(0) && v < T(6)) ? T(1) : T(0);
    case Activation::hardsigmoid: return (v > T(-3) && v < T(3)) ? T(1) / T(6) : T(0);
    case Activation::hardswish:
      if (v <= T(-3)) return T(0);
      if (v >= T(3)) return T(1);
      return (T(2) * v + T(3)) / T(6);
    case Activation::sigmoid: {
      T s = sigmoid(v);
      return s * (T(1) - s);
    }
  }
  return T(0);
}

template <class T>
__global__ void activation_fwd_kernel(Activation a, int64_t n, const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t i : grid_stride(n)) y[i] = forward(a, x[i]);
}

template <class T>
__global__ void activation_bwd_kernel(Activation a, int64_t n, const T* __restrict__ x, const T* __restrict__ gy,
                                      T* __restrict__ gx) {
  for (int64_t i : grid_stride(n)) gx[i] = gy[i] * derivative(a, x[i]);
}
}  // namespace

template <class T>
void activation_fwd(Activation a, int64_t n, const T* x, T* y) {
  if (n == 0) return;
  activation_fwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, current_stream()>>>(a, n, x, y);
  HEMO_CUDA_LAUNCH_CHECK("activation_fwd_kernel");
}

template <class T>
void activation_bwd(Activation a, int64_t n, const T* x, const T* gy, T* gx) {
  if (n == 0) return;
  activation_bwd_kernel<T><<<grid_for(n, kThreads), kThreads, 0, current_stream()>>>(a, n, x, gy, gx);
  HEMO_CUDA_LAUNCH_CHECK("activation_bwd_kernel");
}

template void activation_fwd<float>(Activation, int64_t, const float*, float*);
template void activation_bwd<float>(Activation, int64_t, const float*, const float*, float*);

}  // namespace hemo::cuda
