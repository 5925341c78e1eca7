// Sum along one axis of a contiguous tensor viewed as [outer, n, inner] (a total sum is
// outer = inner = 1), scaled: sum uses scale 1, mean scale 1 / n.
//   sum_axis:     y[o, i] = scale * sum_j x[o, j, i]     (y is [outer, inner]; sums in double,
//                 in index order, so the result does not depend on the thread count)
//   sum_axis_bwd: gx[o, j, i] = scale * gy[o, i]         (OVERWRITES gx)
// n may be 0 (y = 0).
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {

template <class T> void sum_axis(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* x, T* y);
template <class T> void sum_axis_bwd(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* gy, T* gx);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/reduce.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T> void sum_axis(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* x, T* y);
template <class T> void sum_axis_bwd(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* gy, T* gx);

}  // namespace hemo::cuda
