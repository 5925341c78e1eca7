// What hemo's hand-written kernels share: the one launch helper (HEMO_LAUNCH), the thread count
// every elementwise launch uses, grid-stride loops over int64 ranges, and warp/block sums.
// Included only by .cu files, which nvcc compiles for the GPU or, in a -DHEMO_CUDA=EMULATE build,
// the host compiler compiles against the CUDA emulator (core/cuda/emu/, docs/cuda.md).
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "core/cuda/check.h"
#include "core/cuda/stream.h"

namespace hemo::cuda {

constexpr int kThreads = 256;        // elementwise kernels
constexpr int kReduceThreads = 512;  // one block per channel reductions (a multiple of 32)
constexpr int kRowThreads = 128;     // one block per row of a softmax or loss

#if defined(HEMO_CUDA_EMULATED)
namespace detail {
// One kernel argument converted (implicitly, as <<< >>> would) to its parameter's type.
template <class P, class A>
std::decay_t<P> kernel_param(A&& a) {
  return std::forward<A>(a);
}
}  // namespace detail
#endif

// Runs kernel(args...) over a grid of `grid` blocks of `block` threads with `shared_bytes` of
// dynamic shared memory on the current stream, then checks the launch (check.h). The one place a
// kernel is launched: nvcc's <<< >>> here, the emulator's grid scheduler in an emulation build.
// Use it through HEMO_LAUNCH, which names the kernel in errors and emulator reports.
template <class... Params, class... Args>
void launch_kernel(const char* name, const char* file, int line, void (*kernel)(Params...), dim3 grid, dim3 block,
                   size_t shared_bytes, Args&&... args) {
#if defined(HEMO_CUDA_EMULATED)
  // The parameters are converted to the kernel's parameter types and held by value, as CUDA
  // passes them: a launch recorded by a stream capture runs at each replay of its graph, long
  // after this call's arguments are gone. Each emulated thread gets its own copies again.
  auto run = [kernel, ... p = detail::kernel_param<Params>(std::forward<Args>(args))] { kernel(p...); };
  using Run = decltype(run);
  emu::launch(name, file, line, grid, block, shared_bytes, current_stream(),
              {[](void* f) { (*static_cast<const Run*>(f))(); }, &run,
               [](const void* f) -> std::shared_ptr<void> { return std::make_shared<Run>(*static_cast<const Run*>(f)); }});
#else
  kernel<<<grid, block, shared_bytes, current_stream()>>>(std::forward<Args>(args)...);
#endif
  check_launch(name, file, line);
}

}  // namespace hemo::cuda

#define HEMO_LAUNCH(kernel, grid, block, shared_bytes, ...) \
  ::hemo::cuda::launch_kernel(#kernel, __FILE__, __LINE__, kernel, grid, block, shared_bytes, __VA_ARGS__)

// Dynamic shared memory: `HEMO_DYNAMIC_SHARED(float, tile);` declares `float* tile`, sized by the
// launch's shared_bytes (the emulator defines the same macro in core/cuda/emu/device.h).
#if !defined(HEMO_CUDA_EMULATED)
#define HEMO_DYNAMIC_SHARED(T, name)                                    \
  extern __shared__ __align__(16) unsigned char hemo_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(hemo_dynamic_shared_)
#endif

namespace hemo::cuda {

// for (int64_t i : grid_stride(n)) visits this thread's share of [0, n).
struct GridStride {
  int64_t begin_, n_, step_;
  struct It {
    int64_t i, step;
    __device__ int64_t operator*() const { return i; }
    __device__ It& operator++() {
      i += step;
      return *this;
    }
    __device__ bool operator!=(const It& end) const { return i < end.i; }
  };
  __device__ It begin() const { return {begin_, step_}; }
  __device__ It end() const { return {n_, step_}; }
};
__device__ inline GridStride grid_stride(int64_t n) {
  return {static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, n,
          static_cast<int64_t>(gridDim.x) * blockDim.x};
}
// The same over one block's threads (for a block that owns a channel or a row).
__device__ inline GridStride block_stride(int64_t n) {
  return {static_cast<int64_t>(threadIdx.x), n, static_cast<int64_t>(blockDim.x)};
}

struct Plus {
  template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {  // std::max's rule: (a < b) ? b : a
  template <class T> __device__ T operator()(T a, T b) const { return (a < b) ? b : a; }
};

template <class T, class Op>
__device__ T warp_reduce(T v, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
  return v;
}

// op-reduction of v over the block, returned to every thread. Every thread of the block must call
// it (it synchronizes); blockDim.x must be a multiple of 32. Threads with nothing to contribute
// pass op's identity (0 for Plus, -infinity for Max).
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[32];
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // a previous call's readers of partial[0] are done
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T total = lane < (blockDim.x >> 5) ? partial[lane] : identity;
    total = warp_reduce(total, op);
    if (lane == 0) partial[0] = total;
  }
  __syncthreads();
  return partial[0];
}

template <class T> __device__ T block_sum(T v) { return block_reduce(v, Plus{}, T(0)); }
template <class T> __device__ T block_max(T v) { return block_reduce(v, Max{}, static_cast<T>(-INFINITY)); }

}  // namespace hemo::cuda
