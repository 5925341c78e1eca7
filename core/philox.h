// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one
// counter-based generator behind hemo's randomness: tensor/rng.h's Generator on the host and the
// dropout mask on the CPU and the GPU. Written once here, for host and device, so every consumer
// draws bit-identical words from the same (key, counter).
//
// block(key, counter_lo, counter_hi): ten rounds of the Philox S-box on the 128-bit counter
//   (c0..c3 = counter_lo low/high, counter_hi low/high) with the 64-bit key bumped by the Weyl
//   constants each round; returns the four 32-bit words.
// uniform01(bits): the top 24 bits as a float in [0, 1) (exact in float, never 1).
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace hemo::philox {

struct Words {
  uint32_t w[4];
};

HEMO_HOST_DEVICE inline Words block(uint64_t key, uint64_t counter_lo, uint64_t counter_hi) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return {{c0, c1, c2, c3}};
}

HEMO_HOST_DEVICE inline float uniform01(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

}  // namespace hemo::philox
