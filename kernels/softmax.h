// Softmax and log-softmax along one axis of a contiguous tensor viewed as [outer, k, inner]: the
// axis has k entries spaced `inner` apart, and every (o, i) pair is one independent row.
//
// Forward, per row (the max is subtracted first so exp never overflows):
//   m = max_j x_j          lse = m + log sum_j exp(x_j - m)
//   softmax:     y_j = exp(x_j - lse)          log_softmax:  y_j = x_j - lse
// Backward from the saved forward OUTPUT y (not x), OVERWRITING gx:
//   softmax:     gx_j = y_j (gy_j - sum_l gy_l y_l)
//   log_softmax: gx_j = gy_j - exp(y_j) sum_l gy_l
// Row sums accumulate in double. k >= 1 (an empty axis has no rows to normalize).
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {

template <class T> void softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y);
template <class T> void log_softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y);
template <class T> void softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx);
template <class T> void log_softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/softmax.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T> void softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y);
template <class T> void log_softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y);
template <class T> void softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx);
template <class T> void log_softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx);

}  // namespace hemo::cuda
