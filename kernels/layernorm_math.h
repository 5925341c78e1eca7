// The per-position arithmetic of layer norm (kernels/layernorm.h), shared by the CPU reference
// (kernels/cpu/layernorm.cpp) and the CUDA kernels (kernels/cuda/layernorm.cu) so that the two
// cannot drift apart: both walk a position's c values in the same order, in double.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels/layernorm.h"

namespace hemo::layernorm_math {

// Forward of position p = b * hw + s: y, save_mean[p], save_invstd[p].
template <class T>
HEMO_HOST_DEVICE inline void forward_position(const LayerNormFwd<T>& a, int64_t p) {
  using std::sqrt;
  const int64_t c = a.shape.c, hw = a.shape.hw, b = p / hw, s = p - b * hw;
  const T* x = a.x + b * c * hw + s;
  T* y = a.y + b * c * hw + s;
  double sum = 0;
  for (int64_t k = 0; k < c; ++k) sum += static_cast<double>(x[k * hw]);
  const double mean = sum / static_cast<double>(c);
  double ss = 0;  // two passes: no cancellation in E[x^2] - mean^2
  for (int64_t k = 0; k < c; ++k) {
    const double d = static_cast<double>(x[k * hw]) - mean;
    ss += d * d;
  }
  const double invstd = 1.0 / sqrt(ss / static_cast<double>(c) + a.eps);
  for (int64_t k = 0; k < c; ++k) {
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, bt = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    y[k * hw] = static_cast<T>((static_cast<double>(x[k * hw]) - mean) * invstd * g + bt);
  }
  a.save_mean[p] = static_cast<T>(mean);
  a.save_invstd[p] = static_cast<T>(invstd);
}

// xhat of element (b, k, s) from the saved statistics.
template <class T>
HEMO_HOST_DEVICE inline double xhat(const LayerNormBwd<T>& a, int64_t b, int64_t k, int64_t s) {
  const int64_t p = b * a.shape.hw + s;
  return (static_cast<double>(a.x[(b * a.shape.c + k) * a.shape.hw + s]) - static_cast<double>(a.save_mean[p])) *
         static_cast<double>(a.save_invstd[p]);
}

// Input gradient of position p: gx = invstd (g - mean_k(g) - xhat mean_k(g xhat)), g = gamma gy.
template <class T>
HEMO_HOST_DEVICE inline void input_grad_position(const LayerNormBwd<T>& a, int64_t p) {
  const int64_t c = a.shape.c, hw = a.shape.hw, b = p / hw, s = p - b * hw;
  const T* gy = a.gy + b * c * hw + s;
  auto g_at = [&](int64_t k) {
    return static_cast<double>(gy[k * hw]) * (a.gamma ? static_cast<double>(a.gamma[k]) : 1.0);
  };
  double sg = 0, sgx = 0;
  for (int64_t k = 0; k < c; ++k) {
    sg += g_at(k);
    sgx += g_at(k) * xhat(a, b, k, s);
  }
  const double mg = sg / static_cast<double>(c), mgx = sgx / static_cast<double>(c);
  const double invstd = static_cast<double>(a.save_invstd[p]);
  for (int64_t k = 0; k < c; ++k)
    a.gx[(b * c + k) * hw + s] = static_cast<T>(invstd * (g_at(k) - mg - xhat(a, b, k, s) * mgx));
}

}  // namespace hemo::layernorm_math
