// The device side of hemo's CUDA emulator: what a kernel body sees when a .cu file is compiled by
// the host C++ compiler (-DHEMO_CUDA=EMULATE). Included through the emulator's cuda_runtime.h.
//
// Model (core/cuda/emu/grid.h runs it):
// - Every CUDA thread of a block is a fiber on the calling OS thread; a block's threads cooperate:
//   a fiber runs until it reaches a barrier, a warp collective or its end. __syncthreads() is a
//   real barrier, and a shuffle reads the other lane's value as it was when that lane arrived.
// - Blocks run one at a time in a scrambled (seeded) order; within each stretch between two
//   barriers the threads start in a scrambled order too, so code that depends on either order
//   gives different results from run to run (HEMO_EMU_SEED fixes the seed; default 1).
// - __shared__ variables are function-local statics with thread storage duration: one copy per
//   OS thread, which is one copy per block since blocks on an OS thread run one after another.
//   Dynamic shared memory (HEMO_DYNAMIC_SHARED) is a fresh buffer per block, filled with 0xFF
//   bytes (a float NaN) so a read before a write shows.
// - Faults (divergent or deadlocked barriers, a warp collective whose mask names an exited,
//   missing or differently waiting lane) stop the launch; cudaGetLastError then returns
//   cudaErrorLaunchFailure and cudaGetErrorString describes the fault with kernel, block, thread.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static thread_local

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

namespace hemo::emu {

// The coordinates of the fiber now running, set by the scheduler before every switch to it.
struct Coordinates {
  uint3 thread_idx, block_idx;
  dim3 block_dim, grid_dim;
};
// constinit: no dynamic initialization, so no TLS wrapper call at every threadIdx (and none of
// GCC 12's UBSan null checks on that wrapper, which misfire).
extern thread_local constinit const Coordinates* tl_coords;

// Collectives (grid.cpp). `file`/`line` name the call site in fault reports.
void syncthreads(const char* file, int line);
enum class WarpOp { shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, any, all, syncwarp };
// One warp collective: `param` is the lane, delta or xor mask of a shuffle (unused otherwise);
// returns the 8 raw bytes the lane receives (a shuffle) or the vote.
uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width, const char* file, int line);
void* dynamic_shared();  // this block's dynamic shared memory
unsigned active_mask();

template <class T>
T shuffle(WarpOp op, unsigned mask, T v, int param, int width, const char* file, int line) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_collective(op, mask, bits, param, width, file, line);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

template <class T>
T atomic_add(T* p, T v) {
  if constexpr (std::is_integral_v<T>) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
  } else {  // floating point: compare-and-swap on the value, as CUDA's own pre-sm_60 recipe
    T old = __atomic_load_n(p, __ATOMIC_RELAXED), next;
    do {
      next = old + v;
    } while (!__atomic_compare_exchange(p, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
  }
}
template <class T, class F>
T atomic_update(T* p, F f) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  T next = f(old);
  while (!__atomic_compare_exchange(p, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) next = f(old);
  return old;
}

}  // namespace hemo::emu

#define threadIdx (::hemo::emu::tl_coords->thread_idx)
#define blockIdx (::hemo::emu::tl_coords->block_idx)
#define blockDim (::hemo::emu::tl_coords->block_dim)
#define gridDim (::hemo::emu::tl_coords->grid_dim)
constexpr int warpSize = 32;

#define __syncthreads() ::hemo::emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ::hemo::emu::syncwarp_(__FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__)
#define __shfl_sync(mask, v, lane, ...) \
  ::hemo::emu::shuffle(::hemo::emu::WarpOp::shfl_idx, mask, v, lane, ::hemo::emu::width_(__VA_ARGS__ + 0), __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, delta, ...) \
  ::hemo::emu::shuffle(::hemo::emu::WarpOp::shfl_up, mask, v, delta, ::hemo::emu::width_(__VA_ARGS__ + 0), __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, delta, ...) \
  ::hemo::emu::shuffle(::hemo::emu::WarpOp::shfl_down, mask, v, delta, ::hemo::emu::width_(__VA_ARGS__ + 0), __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, lanemask, ...) \
  ::hemo::emu::shuffle(::hemo::emu::WarpOp::shfl_xor, mask, v, lanemask, ::hemo::emu::width_(__VA_ARGS__ + 0), __FILE__, __LINE__)
#define __ballot_sync(mask, pred) \
  static_cast<unsigned>(::hemo::emu::warp_collective(::hemo::emu::WarpOp::ballot, mask, (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __any_sync(mask, pred) \
  static_cast<int>(::hemo::emu::warp_collective(::hemo::emu::WarpOp::any, mask, (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __all_sync(mask, pred) \
  static_cast<int>(::hemo::emu::warp_collective(::hemo::emu::WarpOp::all, mask, (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __activemask() ::hemo::emu::active_mask()

namespace hemo::emu {
constexpr int width_(int w) { return w == 0 ? 32 : w; }
inline void syncwarp_(const char* file, int line, unsigned mask = 0xffffffffu) {
  (void)warp_collective(WarpOp::syncwarp, mask, 0, 0, 32, file, line);
}
}  // namespace hemo::emu

// Dynamic shared memory: `HEMO_DYNAMIC_SHARED(float, tile);` declares `float* tile` (the size is
// the launch's shared-memory bytes). kernels/cuda/launch.cuh defines the same for nvcc.
#define HEMO_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::hemo::emu::dynamic_shared())

// Atomics (one OS thread runs a block's fibers, so these are atomic by construction; the builtins
// also tell ThreadSanitizer they are).
template <class T> T atomicAdd(T* p, T v) { return ::hemo::emu::atomic_add(p, v); }
template <class T> T atomicSub(T* p, T v) { return ::hemo::emu::atomic_add(p, static_cast<T>(-v)); }
template <class T> T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
template <class T> T atomicMax(T* p, T v) { return ::hemo::emu::atomic_update(p, [v](T o) { return o < v ? v : o; }); }
template <class T> T atomicMin(T* p, T v) { return ::hemo::emu::atomic_update(p, [v](T o) { return v < o ? v : o; }); }
template <class T> T atomicCAS(T* p, T compare, T v) {
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Loads and math intrinsics: the exact functions (the fast-math variants of the GPU round
// differently; the emulator cannot reproduce that, docs/cuda.md says so).
template <class T> T __ldg(const T* p) { return *p; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __frcp_rn(float x) { return 1.f / x; }
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
// CUDA's global min/max overloads.
template <class T> constexpr T min(T a, T b) { return b < a ? b : a; }
template <class T> constexpr T max(T a, T b) { return a < b ? b : a; }
using std::ceil, std::exp, std::floor, std::log, std::pow, std::sqrt, std::fabs, std::fmax, std::fmin, std::tanh,
    std::erf, std::isnan, std::isinf, std::isfinite;
