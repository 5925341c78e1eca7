#include "kernels/dropout.h"

#include <array>
#include <cstddef>

namespace hemo::cpu {

namespace {
// Philox4x32-10 and uniform01, bit for bit as hemo::philox4x32 / hemo::uniform01 in tensor/rng.h.
// kernels/ sits below tensor/ and must not link it, so the 20 lines are repeated here (the CUDA
// kernel needs a device copy anyway); dropout_test checks the two agree.
std::array<uint32_t, 4> philox(uint64_t key, uint64_t counter_lo, uint64_t counter_hi) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kM1) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

inline float uniform01(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

constexpr int64_t kParallelWork = 1 << 15;

// The factor a kept element is multiplied by: 1 / (1 - p), or 0 when everything is dropped.
template <class T> T keep_scale(double p) { return p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0); }

template <class T>
void masked_scale(int64_t n, double p, const uint8_t* mask, const T* in, T* out) {
  const T scale = keep_scale<T>(p);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = mask[i] ? in[i] * scale : T(0);
}
}  // namespace

void dropout_mask(int64_t n, double p, uint64_t seed, uint64_t stream, uint64_t first_counter, uint8_t* mask) {
  const float threshold = static_cast<float>(p);
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const std::array<uint32_t, 4> words = philox(seed, first_counter + static_cast<uint64_t>(b), stream);
    for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j)
      mask[4 * b + j] = uniform01(words[static_cast<std::size_t>(j)]) >= threshold ? 1 : 0;
  }
}

template <class T> void dropout_fwd(int64_t n, double p, const uint8_t* mask, const T* x, T* y) {
  masked_scale(n, p, mask, x, y);
}

template <class T> void dropout_bwd(int64_t n, double p, const uint8_t* mask, const T* gy, T* gx) {
  masked_scale(n, p, mask, gy, gx);
}

template void dropout_fwd<float>(int64_t, double, const uint8_t*, const float*, float*);
template void dropout_fwd<double>(int64_t, double, const uint8_t*, const double*, double*);
template void dropout_bwd<float>(int64_t, double, const uint8_t*, const float*, float*);
template void dropout_bwd<double>(int64_t, double, const uint8_t*, const double*, double*);

}  // namespace hemo::cpu
