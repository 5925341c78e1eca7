#include "kernels/dropout.h"

#include <cstddef>

#include "core/philox.h"

namespace hemo::cpu {

namespace {
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

void dropout_mask(Backend, int64_t n, double p, uint64_t seed, uint64_t stream, uint64_t first_counter, uint8_t* mask,
                  const uint64_t* counter_base) {
  if (counter_base) first_counter += *counter_base;
  const float threshold = static_cast<float>(p);
  const int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const philox::Words words = philox::block(seed, first_counter + static_cast<uint64_t>(b), stream);
    for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j)
      mask[4 * b + j] = philox::uniform01(words.w[j]) >= threshold ? 1 : 0;
  }
}

template <class T> void dropout_fwd(Backend, int64_t n, double p, const uint8_t* mask, const T* x, T* y) {
  masked_scale(n, p, mask, x, y);
}

template <class T> void dropout_bwd(Backend, int64_t n, double p, const uint8_t* mask, const T* gy, T* gx) {
  masked_scale(n, p, mask, gy, gx);
}

template void dropout_fwd<float>(Backend, int64_t, double, const uint8_t*, const float*, float*);
template void dropout_fwd<double>(Backend, int64_t, double, const uint8_t*, const double*, double*);
template void dropout_bwd<float>(Backend, int64_t, double, const uint8_t*, const float*, float*);
template void dropout_bwd<double>(Backend, int64_t, double, const uint8_t*, const double*, double*);

}  // namespace hemo::cpu
