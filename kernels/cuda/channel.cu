#include "kernels/cuda/channel.h"

#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
__global__ void bias_add_kernel(int64_t total, int64_t c, int64_t hw, const float* __restrict__ bias,
                                float* __restrict__ y) {
  for (int64_t e : grid_stride(total)) y[e] += bias[(e / hw) % c];
}

// One block per channel.
__global__ void channel_sum_kernel(int64_t n, int64_t c, int64_t hw, const float* __restrict__ x,
                                   float* __restrict__ out) {
  const int64_t ch = blockIdx.x;
  double s = 0;
  for (int64_t j : block_stride(n * hw)) {
    const int64_t b = j / hw;
    s += static_cast<double>(x[(b * c + ch) * hw + (j - b * hw)]);
  }
  s = block_sum(s);
  if (threadIdx.x == 0) out[ch] = static_cast<float>(s);
}
// Column col of the row-major [m, c] matrix x (hw == 1: channels-last, or a linear layer's rows).
struct Column {
  const float* x;
  int64_t c;
  __device__ double operator()(int64_t, int64_t t, int64_t col) const { return static_cast<double>(x[t * c + col]); }
};
}  // namespace

void channel_bias_add(int64_t n, int64_t c, int64_t hw, const float* bias, float* y) {
  const int64_t total = n * c * hw;
  if (total == 0) return;
  HEMO_LAUNCH(bias_add_kernel, grid_for(total, kThreads), kThreads, 0, total, c, hw, bias, y);
}

void channel_sum(int64_t n, int64_t c, int64_t hw, const float* x, float* out) {
  if (c == 0) return;
  if (hw == 1) return column_sums(n, c, 1, Column{x, c}, out, 0, 1);  // coalesced over the channels
  HEMO_LAUNCH(channel_sum_kernel, static_cast<unsigned>(c), kReduceThreads, 0, n, c, hw, x, out);
}

}  // namespace hemo::cuda
