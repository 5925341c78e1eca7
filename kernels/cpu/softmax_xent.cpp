#include "kernels/softmax_xent.h"

#include <algorithm>
#include <cmath>

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;
}

template <class T>
void softmax_xent_fwd(Backend, const SoftmaxXentFwd<T>& a) {
  const int64_t n = a.n, k = a.k;
  const T *logits = a.logits, *weight = a.weight;
  const int64_t* labels = a.labels;
  const double smoothing = a.smoothing;
  T *loss = a.loss, *dz = a.dz;
  const double eps_k = smoothing / static_cast<double>(k);
  auto w = [weight](int64_t j) { return weight ? static_cast<double>(weight[j]) : 1.0; };
  double weight_sum = 0;  // sum_j w_j, the same for every row
  for (int64_t j = 0; j < k; ++j) weight_sum += w(j);
#pragma omp parallel for if (n * k > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T* z = logits + i * k;
    const int64_t y = labels[i];
    double m = z[0];
    for (int64_t j = 1; j < k; ++j) m = std::max(m, static_cast<double>(z[j]));
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(z[j]) - m);
    const double lse = m + std::log(s);
    const double w_y = w(y);
    // loss_i = (1 - eps) w_y (lse - z_y) + eps/k sum_j w_j (lse - z_j)
    double smooth = 0;
    if (smoothing != 0)
      for (int64_t j = 0; j < k; ++j) smooth += w(j) * (lse - z[j]);
    loss[i] = static_cast<T>((1 - smoothing) * w_y * (lse - z[y]) + eps_k * smooth);
    if (!dz) continue;
    const double Q = (1 - smoothing) * w_y + eps_k * weight_sum;
    T* d = dz + i * k;
    for (int64_t j = 0; j < k; ++j) {
      const double q = eps_k * w(j) + (j == y ? (1 - smoothing) * w_y : 0.0);
      d[j] = static_cast<T>(std::exp(static_cast<double>(z[j]) - lse) * Q - q);
    }
  }
}

template <class T>
void softmax_xent_bwd(Backend, const SoftmaxXentBwd<T>& a) {
  const int64_t n = a.n, k = a.k, gy_stride = a.gy_stride;
  const T *dz = a.dz, *gy = a.gy;
  const double scale = a.scale;
  T* gx = a.gx;
#pragma omp parallel for if (n * k > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T f = static_cast<T>(scale * static_cast<double>(gy[i * gy_stride]));
    for (int64_t j = 0; j < k; ++j) gx[i * k + j] = f * dz[i * k + j];
  }
}

#define HEMO_XENT_INSTANTIATE(T)                                                                            \
  template void softmax_xent_fwd<T>(Backend, const SoftmaxXentFwd<T>&); \
  template void softmax_xent_bwd<T>(Backend, const SoftmaxXentBwd<T>&);
HEMO_XENT_INSTANTIATE(float)
HEMO_XENT_INSTANTIATE(double)
#undef HEMO_XENT_INSTANTIATE

}  // namespace hemo::cpu
