// The gradient clip on the device (the contract is kernels/grad_clip.h): one launch per 64
// gradient tensors, their pointers and sizes in the kernel's argument. Each block's thread 0 works
// out the factor from param_sq (a few hundred values, read from cache) with the function the CPU
// uses, so no launch waits for another and nothing is allocated; a factor of 1 ends the block.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/grad_clip.h"

namespace hemo::cuda {

namespace {
constexpr int kClipChunk = 64;  // 64 pointers and 65 offsets: about 1 KiB of kernel argument

template <class T>
struct ClipTable {
  int count;
  int64_t start[kClipChunk + 1];
  T* grad[kClipChunk];
  const T* param_sq;
  int64_t p;
  double max_norm;
};

template <class T>
__global__ void clip_kernel(ClipTable<T> tab) {
  __shared__ T factor;
  if (threadIdx.x == 0) factor = grad_clip_factor(tab.param_sq, tab.p, tab.max_norm);
  __syncthreads();
  const T f = factor;
  if (f == T(1)) return;
  for (int64_t i : grid_stride(tab.start[tab.count])) {
    const int t = tensor_of(tab, i);
    T* g = tab.grad[t] + (i - tab.start[t]);
    *g = f * *g;
  }
}
}  // namespace

template <class T> void clip_grads(Backend, const GradClipArgs<T>& a) {
  ClipTable<T> tab{};
  auto flush = [&] {
    const int64_t n = tab.start[tab.count];
    if (n > 0) HEMO_LAUNCH(clip_kernel<T>, grid_for(n, kThreads), kThreads, 0, tab);
    tab.count = 0;
  };
  tab.param_sq = a.param_sq, tab.p = a.p, tab.max_norm = a.max_norm;
  for (int64_t t = 0; t < a.count; ++t) {
    if (a.sizes[t] == 0) continue;
    tab.grad[tab.count] = a.grads[t];
    tab.start[tab.count + 1] = tab.start[tab.count] + a.sizes[t];
    if (++tab.count == kClipChunk) flush();
  }
  flush();
}

template void clip_grads<float>(Backend, const GradClipArgs<float>&);

}  // namespace hemo::cuda
