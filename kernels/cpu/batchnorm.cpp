#include "kernels/batchnorm.h"

#include <cmath>

namespace hemo::cpu {

namespace {
// Work below this many elements stays on one thread.
constexpr int64_t kParallelWork = 1 << 15;

// The sums of f(i) and g(i) over i in [0, len), in double, each over 8 interleaved partial sums:
// one running double sum is a chain of dependent adds that GCC may not reorder (that would change
// its rounding), so it ran at one element per add latency, and batch norm's statistics took as
// long as a MobileNetV2's convolutions. Eight independent lanes vectorize; the total differs from
// the sequential sum by rounding only (both are double sums of float terms).
template <class F, class G>
inline void lane_sums(int64_t len, F&& f, G&& g, double& sum_f, double& sum_g) {
  constexpr int kLanes = 8;
  double af[kLanes] = {}, ag[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      af[j] += f(i + j);
      ag[j] += g(i + j);
    }
  double tf = 0, tg = 0;
  for (; i < len; ++i) tf += f(i), tg += g(i);
  sum_f += ((af[0] + af[1]) + (af[2] + af[3])) + ((af[4] + af[5]) + (af[6] + af[7])) + tf;
  sum_g += ((ag[0] + ag[1]) + (ag[2] + ag[3])) + ((ag[4] + ag[5]) + (ag[6] + ag[7])) + tg;
}

// Calls f(block) for each of the n contiguous hw-element blocks of channel k.
template <class T, class F>
inline void for_blocks(int64_t n, int64_t c, int64_t hw, int64_t k, T* base, F&& f) {
  for (int64_t b = 0; b < n; ++b) f(base + (b * c + k) * hw);
}

// y = alpha x + shift over channel k.
template <class T>
inline void affine_channel(int64_t n, int64_t c, int64_t hw, int64_t k, const T* x, T* y, double alpha, double shift) {
  const T a = static_cast<T>(alpha), s = static_cast<T>(shift);
  for (int64_t b = 0; b < n; ++b) {
    const T* xb = x + (b * c + k) * hw;
    T* yb = y + (b * c + k) * hw;
    for (int64_t i = 0; i < hw; ++i) yb[i] = xb[i] * a + s;
  }
}
}  // namespace

template <class T>
void batch_norm_train_fwd(Backend, const BatchNormTrainFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T* x = a.x;
  const int64_t M = n * hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    double sum = 0, unused = 0;
    for_blocks(n, c, hw, k, x, [&](const T* xb) {
      lane_sums(hw, [xb](int64_t i) { return static_cast<double>(xb[i]); }, [](int64_t) { return 0.0; }, sum, unused);
    });
    const double mean = sum / static_cast<double>(M);
    double ss = 0;  // two passes: no cancellation in E[x^2] - mean^2
    for_blocks(n, c, hw, k, x, [&](const T* xb) {
      lane_sums(hw, [xb, mean](int64_t i) {
        const double d = xb[i] - mean;
        return d * d;
      }, [](int64_t) { return 0.0; }, ss, unused);
    });
    const double var = ss / static_cast<double>(M);
    const double invstd = 1.0 / std::sqrt(var + a.eps);
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    affine_channel(n, c, hw, k, x, a.y, g * invstd, b - mean * g * invstd);
    a.save_mean[k] = static_cast<T>(mean);
    a.save_invstd[k] = static_cast<T>(invstd);
    const double momentum = a.momentum;
    if (a.running_mean) a.running_mean[k] = static_cast<T>((1 - momentum) * a.running_mean[k] + momentum * mean);
    if (a.running_var) {
      double unbiased = M > 1 ? ss / static_cast<double>(M - 1) : var;
      a.running_var[k] = static_cast<T>((1 - momentum) * a.running_var[k] + momentum * unbiased);
    }
  }
}

template <class T>
void batch_norm_eval_fwd(Backend, const BatchNormEvalFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[k]) + a.eps);
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    affine_channel(n, c, hw, k, a.x, a.y, g * invstd, b - static_cast<double>(a.running_mean[k]) * g * invstd);
  }
}

namespace {
// sum(gy) and sum(gy (x - mean)) over channel k.
template <class T>
inline void channel_grad_sums(int64_t n, int64_t c, int64_t hw, int64_t k, const T* x, const T* gy, double mean,
                              double& sum_gy, double& sum_gy_xc) {
  sum_gy = 0;
  sum_gy_xc = 0;
  for (int64_t b = 0; b < n; ++b) {
    const T* xb = x + (b * c + k) * hw;
    const T* gb = gy + (b * c + k) * hw;
    lane_sums(hw, [gb](int64_t i) { return static_cast<double>(gb[i]); },
              [gb, xb, mean](int64_t i) { return static_cast<double>(gb[i]) * (xb[i] - mean); }, sum_gy, sum_gy_xc);
  }
}
}  // namespace

template <class T>
void batch_norm_train_bwd(Backend, const BatchNormTrainBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T *x = a.x, *gy = a.gy, *gamma = a.gamma, *save_mean = a.save_mean, *save_invstd = a.save_invstd;
  T *gx = a.gx, *ggamma = a.ggamma, *gbeta = a.gbeta;
  const double M = static_cast<double>(n * hw);
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    const double mean = save_mean[k], invstd = save_invstd[k];
    double sum_gy, sum_gy_xc;
    channel_grad_sums(n, c, hw, k, x, gy, mean, sum_gy, sum_gy_xc);
    const double sum_gy_xhat = sum_gy_xc * invstd;
    if (gbeta) gbeta[k] = static_cast<T>(sum_gy);
    if (ggamma) ggamma[k] = static_cast<T>(sum_gy_xhat);
    if (!gx) continue;
    // gx = gamma invstd (gy - sum_gy / M - xhat sum_gy_xhat / M), xhat = (x - mean) invstd
    const double g = gamma ? static_cast<double>(gamma[k]) : 1.0;
    const T coef = static_cast<T>(g * invstd);
    const T proj = static_cast<T>(sum_gy_xhat * invstd / M);  // multiplies (x - mean)
    const T mean_gy = static_cast<T>(sum_gy / M), mu = static_cast<T>(mean);
    for (int64_t b = 0; b < n; ++b) {
      const T* xb = x + (b * c + k) * hw;
      const T* gb = gy + (b * c + k) * hw;
      T* ob = gx + (b * c + k) * hw;
      for (int64_t i = 0; i < hw; ++i) ob[i] = coef * (gb[i] - mean_gy - (xb[i] - mu) * proj);
    }
  }
}

template <class T>
void batch_norm_eval_bwd(Backend, const BatchNormEvalBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T *x = a.x, *gy = a.gy, *gamma = a.gamma, *running_mean = a.running_mean, *running_var = a.running_var;
  T *gx = a.gx, *ggamma = a.ggamma, *gbeta = a.gbeta;
  const double eps = a.eps;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[k]) + eps);
    if (gbeta || ggamma) {
      double sum_gy, sum_gy_xc;
      channel_grad_sums(n, c, hw, k, x, gy, static_cast<double>(running_mean[k]), sum_gy, sum_gy_xc);
      if (gbeta) gbeta[k] = static_cast<T>(sum_gy);
      if (ggamma) ggamma[k] = static_cast<T>(sum_gy_xc * invstd);
    }
    if (gx) {
      const double g = gamma ? static_cast<double>(gamma[k]) : 1.0;
      affine_channel(n, c, hw, k, gy, gx, g * invstd, 0.0);
    }
  }
}

#define HEMO_BN_INSTANTIATE(T)                                              \
  template void batch_norm_train_fwd<T>(Backend, const BatchNormTrainFwd<T>&); \
  template void batch_norm_eval_fwd<T>(Backend, const BatchNormEvalFwd<T>&);   \
  template void batch_norm_train_bwd<T>(Backend, const BatchNormTrainBwd<T>&); \
  template void batch_norm_eval_bwd<T>(Backend, const BatchNormEvalBwd<T>&);
HEMO_BN_INSTANTIATE(float)
HEMO_BN_INSTANTIATE(double)
#undef HEMO_BN_INSTANTIATE

}  // namespace hemo::cpu
