// CUDA dropout (the contract is kernels/dropout.h). The mask kernel draws, for Philox block b,
// philox4x32(seed, first_counter + b, stream) exactly as the CPU reference does, so the two masks
// are bit-identical (the cuda tests compare them byte for byte).
#include "core/philox.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/dropout.h"

namespace hemo::cuda {

namespace {
__global__ void mask_kernel(int64_t n, float threshold, uint64_t seed, uint64_t stream, uint64_t first_counter,
                            const uint64_t* counter_base, uint8_t* __restrict__ mask) {
  if (counter_base) first_counter += *counter_base;
  for (int64_t b : grid_stride((n + 3) / 4)) {
    const philox::Words words = philox::block(seed, first_counter + static_cast<uint64_t>(b), stream);
    for (int j = 0; j < 4 && 4 * b + j < n; ++j) mask[4 * b + j] = philox::uniform01(words.w[j]) >= threshold ? 1 : 0;
  }
}

template <class T>
__global__ void masked_scale_kernel(int64_t n, T scale, const uint8_t* __restrict__ mask, const T* __restrict__ in,
                                    T* __restrict__ out) {
  for (int64_t i : grid_stride(n)) out[i] = mask[i] ? in[i] * scale : T(0);
}

// The factor a kept element is multiplied by: 1 / (1 - p), or 0 when everything is dropped.
template <class T> T keep_scale(double p) { return p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0); }

template <class T>
void masked_scale(int64_t n, double p, const uint8_t* mask, const T* in, T* out) {
  if (n == 0) return;
  HEMO_LAUNCH(masked_scale_kernel<T>, grid_for(n, kThreads), kThreads, 0, n, keep_scale<T>(p), mask, in, out);
}
}  // namespace

void dropout_mask(Backend, int64_t n, double p, uint64_t seed, uint64_t stream, uint64_t first_counter, uint8_t* mask,
                  const uint64_t* counter_base) {
  if (n == 0) return;
  HEMO_LAUNCH(mask_kernel, grid_for((n + 3) / 4, kThreads), kThreads, 0,
      n, static_cast<float>(p), seed, stream, first_counter, counter_base, mask);
}

template <class T> void dropout_fwd(Backend, int64_t n, double p, const uint8_t* mask, const T* x, T* y) {
  masked_scale(n, p, mask, x, y);
}

template <class T> void dropout_bwd(Backend, int64_t n, double p, const uint8_t* mask, const T* gy, T* gx) {
  masked_scale(n, p, mask, gy, gx);
}

template void dropout_fwd<float>(Backend, int64_t, double, const uint8_t*, const float*, float*);
template void dropout_bwd<float>(Backend, int64_t, double, const uint8_t*, const float*, float*);

}  // namespace hemo::cuda
