// Per-channel helpers over [n, c, hw] tensors shared by the CUDA convolutions (bias).
#pragma once
#include <cstdint>

namespace hemo::cuda {

// y[b][ch][i] += bias[ch].
void channel_bias_add(int64_t n, int64_t c, int64_t hw, const float* bias, float* y);
// out[ch] = sum over b, i of x[b][ch][i], accumulated in double (OVERWRITES out); one block per
// channel, or with hw == 1 (an [n, c] matrix: channels-last) kernels/cuda/column_sums.cuh.
void channel_sum(int64_t n, int64_t c, int64_t hw, const float* x, float* out);

}  // namespace hemo::cuda
