// Dropout over n contiguous elements with a counter-based (Philox4x32-10) mask.
//
// Mask: element i uses word i % 4 of the Philox block philox::block(seed, first_counter + i / 4,
// stream) (core/philox.h, the generator tensor/rng.h uses too), and is kept (mask 1) when uniform01(word) >= p, compared in float:
// uniform01 has 24 random bits, so the keep rate is 1 - p to within 2^-24. The mask depends only
// on (seed, stream, first_counter, i): any thread, in any order, on the CPU or a CUDA kernel,
// draws the same mask. Callers reserve the blocks with Generator::reserve(ceil(n / 4)), which
// returns first_counter, so consecutive dropout calls use disjoint counters.
// counter_base (optional): a uint64 in the kernel's memory (device memory on CUDA), read when the
// kernel runs and added to first_counter. A replayed CUDA graph repeats its kernels' arguments, so
// its dropout draws a new mask each step from the base the host writes there before the replay
// (Generator::begin_relative, tensor/rng.h); the mask is that of first_counter + *counter_base.
//
// Forward:  y  = x  * mask / (1 - p)      Backward (OVERWRITES gx):  gx = gy * mask / (1 - p)
// With p == 1 every element is dropped and y = gx = 0 (no division by zero).
// Requires 0 <= p <= 1 (nn::dropout checks).
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {

void dropout_mask(Backend, int64_t n, double p, uint64_t seed, uint64_t stream, uint64_t first_counter, uint8_t* mask,
                  const uint64_t* counter_base = nullptr);

template <class T> void dropout_fwd(Backend, int64_t n, double p, const uint8_t* mask, const T* x, T* y);
template <class T> void dropout_bwd(Backend, int64_t n, double p, const uint8_t* mask, const T* gy, T* gx);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/dropout.cu): device pointers (mask too), float only, on the current stream.
// dropout_mask draws the same bits as the CPU's.
namespace hemo::cuda {

void dropout_mask(Backend, int64_t n, double p, uint64_t seed, uint64_t stream, uint64_t first_counter, uint8_t* mask,
                  const uint64_t* counter_base = nullptr);

template <class T> void dropout_fwd(Backend, int64_t n, double p, const uint8_t* mask, const T* x, T* y);
template <class T> void dropout_bwd(Backend, int64_t n, double p, const uint8_t* mask, const T* gy, T* gx);

}  // namespace hemo::cuda
