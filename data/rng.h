// hemo::data::Rng: a small counter-derived random generator (splitmix64) for the data pipeline.
//
// Determinism contract: a stream is a pure function of the values it is derived from. The loader
// derives each sample's augmentation stream from (seed, epoch, position in the epoch), the
// shuffle from (seed, epoch, kShuffleStream), so a batch never depends on which thread made it or
// in which order threads ran. splitmix64 passes BigCrush and is plenty for augmentation; it is not
// for cryptography. Independent of <random> so results are identical across standard libraries.
#pragma once
#include <cmath>
#include <cstdint>

namespace hemo::data {

__extension__ typedef unsigned __int128 rng_u128;  // __extension__: no -Wpedantic warning

class Rng {
 public:
  explicit Rng(uint64_t state = 0) : state_(state) {}

  // A stream for (seed, a, b): each part is mixed separately so nearby values give unrelated streams.
  static Rng derive(uint64_t seed, uint64_t a, uint64_t b = 0) {
    uint64_t s = mix(seed + 0x9E3779B97F4A7C15ull);
    s = mix(s ^ (a + 0xD1B54A32D192ED03ull));
    s = mix(s ^ (b + 0x8CB92BA72F3D8DD7ull));
    return Rng(s);
  }

  uint64_t next_u64() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    rng_u128 m = static_cast<rng_u128>(next_u64()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<rng_u128>(next_u64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Uniform integer in [lo, hi] (inclusive), lo <= hi.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Standard normal (Box-Muller; uses two draws).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  uint64_t state() const { return state_; }

  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace hemo::data
