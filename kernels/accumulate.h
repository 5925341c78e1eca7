// accumulate: dst[i] += src[i] for i < n. Used by the autograd engine to sum gradients that reach
// one tensor along several paths, and by optimizers. Accumulates into (never overwrites) dst.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {
template <class T> void accumulate(Backend, int64_t n, const T* src, T* dst);
}  // namespace hemo::cpu

// CUDA (kernels/cuda/accumulate.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {
template <class T> void accumulate(Backend, int64_t n, const T* src, T* dst);
}  // namespace hemo::cuda
