// CUDA accumulate (kernels/accumulate.h): dst += src.
#include "kernels/accumulate.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void accumulate_kernel(int64_t n, const T* src, T* dst) {
  for (int64_t i : grid_stride(n)) dst[i] += src[i];
}
}  // namespace

template <class T>
void accumulate(Backend, int64_t n, const T* src, T* dst) {
  if (n == 0) return;
  HEMO_LAUNCH(accumulate_kernel<T>, grid_for(n, kThreads), kThreads, 0, n, src, dst);
}

template void accumulate<float>(Backend, int64_t, const float*, float*);

}  // namespace hemo::cuda
