#include "tensor/rng.h"

#include "core/error.h"
#include "core/philox.h"

#include <cmath>
#include <numbers>
#include <utility>

namespace hemo {

std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_lo, uint64_t counter_hi) {
  const philox::Words b = philox::block(key, counter_lo, counter_hi);
  return {b.w[0], b.w[1], b.w[2], b.w[3]};
}

void Generator::set_state(const State& s) {
  seed_ = s.seed;
  stream_ = s.stream;
  offset_ = s.offset;
  buffered_ = static_cast<int>(s.buffered);
  if (buffered_ > 0) buffer_ = block(offset_ - 1);
}

void Generator::begin_relative(const uint64_t* base) {
  HEMO_CHECK(base && !relative_base_, "Generator::begin_relative: ",
             base ? "already relative (captures do not nest)" : "no base counter given");
  relative_base_ = base;
  relative_start_ = offset_;
  buffered_ = 0;
}

uint64_t Generator::end_relative() {
  HEMO_CHECK(relative_base_, "Generator::end_relative without begin_relative");
  const uint64_t blocks = offset_ - relative_start_;
  offset_ = relative_start_;
  relative_start_ = 0;
  relative_base_ = nullptr;
  return blocks;
}

uint32_t Generator::next_u32() {
  HEMO_CHECK(!relative_base_, "a host-side random draw during a CUDA graph capture: a replay would repeat it; "
             "draw on the device (a dropout mask) or outside the captured step");
  if (buffered_ == 0) {
    buffer_ = block(reserve(1));
    buffered_ = 4;
  }
  return buffer_[static_cast<size_t>(4 - buffered_--)];
}

double Generator::uniform(double lo, double hi) {
  uint64_t bits = (static_cast<uint64_t>(next_u32()) << 21) ^ (next_u32() >> 11);
  double u = static_cast<double>(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
  return lo + (hi - lo) * u;
}

double Generator::normal(double mean, double stddev) {
  double u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 is in (0, 1]
  return mean + stddev * r * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Generator::below(uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  while (true) {
    uint64_t x = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    if (x < limit) return x % n;
  }
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[static_cast<size_t>(i)], p[below(static_cast<uint64_t>(i) + 1)]);
  return p;
}

Generator& default_generator() {
  static Generator g(0x5EEDu);
  return g;
}

}  // namespace hemo
