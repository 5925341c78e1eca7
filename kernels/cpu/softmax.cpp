#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;

// log sum_j exp(x_j) over one row of k entries spaced `inner` apart, with the max taken out.
// An infinite max gives NaN (inf - inf), as PyTorch's softmax does.
template <class T>
double row_logsumexp(int64_t k, int64_t inner, const T* x) {
  double m = x[0];
  for (int64_t j = 1; j < k; ++j) m = std::max(m, static_cast<double>(x[j * inner]));
  double s = 0;
  for (int64_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(x[j * inner]) - m);
  return m + std::log(s);
}

// Calls f(row offset) for each of the outer * inner rows.
template <class F>
void for_rows(int64_t outer, int64_t k, int64_t inner, F&& f) {
  const int64_t rows = outer * inner;
#pragma omp parallel for if (rows * k > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) f((r / inner) * k * inner + r % inner);
}
}  // namespace

template <class T>
void softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y) {
  for_rows(outer, k, inner, [&](int64_t base) {
    const double lse = row_logsumexp(k, inner, x + base);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = base + j * inner;
      y[at] = static_cast<T>(std::exp(static_cast<double>(x[at]) - lse));
    }
  });
}

template <class T>
void log_softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y) {
  for_rows(outer, k, inner, [&](int64_t base) {
    const double lse = row_logsumexp(k, inner, x + base);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = base + j * inner;
      y[at] = static_cast<T>(static_cast<double>(x[at]) - lse);
    }
  });
}

template <class T>
void softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx) {
  for_rows(outer, k, inner, [&](int64_t base) {
    double dot = 0;
    for (int64_t j = 0; j < k; ++j) dot += static_cast<double>(gy[base + j * inner]) * y[base + j * inner];
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = base + j * inner;
      gx[at] = static_cast<T>(y[at] * (gy[at] - dot));
    }
  });
}

template <class T>
void log_softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx) {
  for_rows(outer, k, inner, [&](int64_t base) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += gy[base + j * inner];
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = base + j * inner;
      gx[at] = static_cast<T>(gy[at] - std::exp(static_cast<double>(y[at])) * sum);
    }
  });
}

#define HEMO_SOFTMAX_INSTANTIATE(T)                                                                  \
  template void softmax_fwd<T>(Backend, int64_t, int64_t, int64_t, const T*, T*);                             \
  template void log_softmax_fwd<T>(Backend, int64_t, int64_t, int64_t, const T*, T*);                         \
  template void softmax_bwd<T>(Backend, int64_t, int64_t, int64_t, const T*, const T*, T*);                   \
  template void log_softmax_bwd<T>(Backend, int64_t, int64_t, int64_t, const T*, const T*, T*);
HEMO_SOFTMAX_INSTANTIATE(float)
HEMO_SOFTMAX_INSTANTIATE(double)
#undef HEMO_SOFTMAX_INSTANTIATE

}  // namespace hemo::cpu
