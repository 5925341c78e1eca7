// Generator: a seeded, counter-based random stream (Philox4x32-10, Salmon et al. 2011).
//
// Each draw of four 32-bit words is philox(key = seed, counter = (offset, stream)); `offset`
// advances by one per block. Because a value depends only on (seed, stream, offset), a consumer
// can reserve a block range and fill it in any order or on any thread (or on the GPU) and get the
// same numbers: dropout masks, initializers and shuffles are reproducible from the seed alone,
// and a checkpoint restores a stream exactly from (seed, stream, offset).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/philox.h"

namespace hemo {

std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_lo, uint64_t counter_hi);

// Maps 32 random bits to a float in [0, 1) (24 mantissa bits; never returns 1).
inline float uniform01(uint32_t bits) { return philox::uniform01(bits); }

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  // Everything needed to continue the stream exactly: `buffered` words of block offset-1 are
  // still to be handed out by next_u32().
  struct State {
    uint64_t seed, stream, offset, buffered;
  };
  State state() const { return {seed_, stream_, offset_, static_cast<uint64_t>(buffered_)}; }
  void set_state(const State& s);
  void manual_seed(uint64_t seed) { seed_ = seed; offset_ = 0; buffered_ = 0; }

  // Reserves `blocks` consecutive counter values and returns the first; block b of the
  // reservation is philox4x32(seed, first + b, stream). Discards any buffered words.
  // Between begin_relative and end_relative the first is relative (see below).
  uint64_t reserve(uint64_t blocks) {
    buffered_ = 0;
    uint64_t first = offset_ - relative_start_;
    offset_ += blocks;
    return first;
  }

  // Relative reservations, for work captured into a CUDA graph (train/captured_step.h), whose
  // replays repeat the kernels' arguments: between begin_relative(base) and end_relative(),
  // reserve() returns counters relative to the offset at begin_relative, and relative_base() is
  // `base`, a uint64 in device memory that the consumer's kernel adds when it runs (dropout's
  // counter_base, kernels/dropout.h). end_relative() puts the offset back where begin_relative
  // found it and returns the blocks reserved in between; before each replay the caller reserves
  // that many with reserve() and writes the first into *base, so each replay draws what the
  // same work run eagerly at that point of the stream would. Host draws (next_u32 and what uses
  // it) are refused meanwhile.
  void begin_relative(const uint64_t* base);
  uint64_t end_relative();
  const uint64_t* relative_base() const { return relative_base_; }
  std::array<uint32_t, 4> block(uint64_t counter) const { return philox4x32(seed_, counter, stream_); }

  uint32_t next_u32();
  double uniform(double lo = 0.0, double hi = 1.0);  // [lo, hi), 53 random bits
  double normal(double mean = 0.0, double stddev = 1.0);  // Box-Muller
  uint64_t below(uint64_t n);                        // uniform integer in [0, n), unbiased
  std::vector<int64_t> permutation(int64_t n);       // Fisher-Yates

  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_, stream_, offset_ = 0;
  std::array<uint32_t, 4> buffer_{};
  int buffered_ = 0;  // words of buffer_ not yet handed out
  const uint64_t* relative_base_ = nullptr;  // set between begin_relative and end_relative
  uint64_t relative_start_ = 0;               // the offset at begin_relative (0 otherwise)
};

// The process-wide default generator (like torch.manual_seed's); not thread-safe: use it from one
// thread, or give each consumer its own Generator.
Generator& default_generator();

}  // namespace hemo
