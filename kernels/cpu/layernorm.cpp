#include "kernels/layernorm.h"

#include <cmath>

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;  // below this many elements: one thread
}  // namespace

template <class T>
void layer_norm_fwd(Backend, const LayerNormFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t p = 0; p < n * hw; ++p) {
    const int64_t b = p / hw, s = p - b * hw;
    const T* x = a.x + b * c * hw + s;
    T* y = a.y + b * c * hw + s;
    double sum = 0;
    for (int64_t k = 0; k < c; ++k) sum += static_cast<double>(x[k * hw]);
    const double mean = sum / static_cast<double>(c);
    double ss = 0;
    for (int64_t k = 0; k < c; ++k) {
      const double d = static_cast<double>(x[k * hw]) - mean;
      ss += d * d;
    }
    const double invstd = 1.0 / std::sqrt(ss / static_cast<double>(c) + a.eps);
    for (int64_t k = 0; k < c; ++k) {
      const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, bt = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
      y[k * hw] = static_cast<T>((static_cast<double>(x[k * hw]) - mean) * invstd * g + bt);
    }
    a.save_mean[p] = static_cast<T>(mean);
    a.save_invstd[p] = static_cast<T>(invstd);
  }
}

template <class T>
void layer_norm_bwd(Backend, const LayerNormBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  auto xhat = [&](int64_t b, int64_t k, int64_t s) {
    const int64_t p = b * hw + s;
    return (static_cast<double>(a.x[(b * c + k) * hw + s]) - static_cast<double>(a.save_mean[p])) *
           static_cast<double>(a.save_invstd[p]);
  };
  if (a.gx) {
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
    for (int64_t p = 0; p < n * hw; ++p) {
      const int64_t b = p / hw, s = p - b * hw;
      const T* gy = a.gy + b * c * hw + s;
      double sg = 0, sgx = 0;
      for (int64_t k = 0; k < c; ++k) {
        const double g = static_cast<double>(gy[k * hw]) * (a.gamma ? static_cast<double>(a.gamma[k]) : 1.0);
        sg += g;
        sgx += g * xhat(b, k, s);
      }
      const double mg = sg / static_cast<double>(c), mgx = sgx / static_cast<double>(c);
      const double invstd = static_cast<double>(a.save_invstd[p]);
      for (int64_t k = 0; k < c; ++k) {
        const double g = static_cast<double>(gy[k * hw]) * (a.gamma ? static_cast<double>(a.gamma[k]) : 1.0);
        a.gx[(b * c + k) * hw + s] = static_cast<T>(invstd * (g - mg - xhat(b, k, s) * mgx));
      }
    }
  }
  if (!a.ggamma && !a.gbeta) return;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    double sgy = 0, sgyx = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < hw; ++s) {
        const double g = static_cast<double>(a.gy[(b * c + k) * hw + s]);
        sgy += g;
        sgyx += g * xhat(b, k, s);
      }
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sgyx);
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sgy);
  }
}

template void layer_norm_fwd<float>(Backend, const LayerNormFwd<float>&);
template void layer_norm_fwd<double>(Backend, const LayerNormFwd<double>&);
template void layer_norm_bwd<float>(Backend, const LayerNormBwd<float>&);
template void layer_norm_bwd<double>(Backend, const LayerNormBwd<double>&);

}  // namespace hemo::cpu
