#include "kernels/reduce.h"

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;
}

template <class T>
void sum_axis(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* x, T* y) {
  const int64_t rows = outer * inner;
#pragma omp parallel for if (rows > 1 && rows * n > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + (r / inner) * n * inner + r % inner;
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += row[j * inner];
    y[r] = static_cast<T>(scale * s);
  }
}

template <class T>
void sum_axis_bwd(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* gy, T* gx) {
#pragma omp parallel for if (outer * n * inner > kParallelWork) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      T* dst = gx + (o * n + j) * inner;
      const T* src = gy + o * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(scale * static_cast<double>(src[i]));
    }
  }
}

template void sum_axis<float>(Backend, int64_t, int64_t, int64_t, double, const float*, float*);
template void sum_axis<double>(Backend, int64_t, int64_t, int64_t, double, const double*, double*);
template void sum_axis_bwd<float>(Backend, int64_t, int64_t, int64_t, double, const float*, float*);
template void sum_axis_bwd<double>(Backend, int64_t, int64_t, int64_t, double, const double*, double*);

}  // namespace hemo::cpu
