#include "kernels/elementwise.h"

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;
}

template <class T>
void add(Backend, int64_t n, const T* a, const T* b, T* y) {
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

template <class T>
void mul(Backend, int64_t n, const T* a, const T* b, T* y) {
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

template <class T>
void scale(Backend, int64_t n, double s, const T* a, T* y) {
  const T f = static_cast<T>(s);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = f * a[i];
}

template <class T>
void fill(Backend, int64_t n, double value, T* y) {
  const T v = static_cast<T>(value);
#pragma omp parallel for if (n > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = v;
}

template <class T>
void mul_rows(Backend, int64_t rows, int64_t inner, const T* a, const T* b, T* y) {
#pragma omp parallel for if (rows * inner > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const T f = b[r];
    for (int64_t i = 0; i < inner; ++i) y[r * inner + i] = a[r * inner + i] * f;
  }
}

template <class T>
void mul_rows_grad_b(Backend, int64_t rows, int64_t inner, const T* gy, const T* a, T* gb) {
#pragma omp parallel for if (rows * inner > kParallelWork) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(gy[r * inner + i]) * a[r * inner + i];
    gb[r] = static_cast<T>(s);
  }
}

#define HEMO_ELEMENTWISE_INSTANTIATE(T)                                             \
  template void add<T>(Backend, int64_t, const T*, const T*, T*);                            \
  template void mul<T>(Backend, int64_t, const T*, const T*, T*);                            \
  template void scale<T>(Backend, int64_t, double, const T*, T*);                            \
  template void fill<T>(Backend, int64_t, double, T*);                                       \
  template void mul_rows<T>(Backend, int64_t, int64_t, const T*, const T*, T*);              \
  template void mul_rows_grad_b<T>(Backend, int64_t, int64_t, const T*, const T*, T*);
HEMO_ELEMENTWISE_INSTANTIATE(float)
HEMO_ELEMENTWISE_INSTANTIATE(double)
#undef HEMO_ELEMENTWISE_INSTANTIATE

}  // namespace hemo::cpu
