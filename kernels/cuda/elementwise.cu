// CUDA elementwise arithmetic (the contract is kernels/elementwise.h). y may alias an input, so no
// pointer here is __restrict__.
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void add_kernel(int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i : grid_stride(n)) y[i] = a[i] + b[i];
}

template <class T>
__global__ void mul_kernel(int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i : grid_stride(n)) y[i] = a[i] * b[i];
}

template <class T>
__global__ void scale_kernel(int64_t n, T f, const T* a, T* y) {
  for (int64_t i : grid_stride(n)) y[i] = f * a[i];
}

template <class T>
__global__ void fill_kernel(int64_t n, T v, T* y) {
  for (int64_t i : grid_stride(n)) y[i] = v;
}

template <class T>
__global__ void mul_rows_kernel(int64_t rows, int64_t inner, const T* a, const T* b, T* y) {
  for (int64_t i : grid_stride(rows * inner)) y[i] = a[i] * b[i / inner];
}

// One block per row: gb[r] = sum_i gy[r, i] a[r, i], in double.
template <class T>
__global__ void mul_rows_grad_b_kernel(int64_t inner, const T* gy, const T* a, T* gb) {
  const int64_t r = blockIdx.x;
  double s = 0;
  for (int64_t i : block_stride(inner)) s += static_cast<double>(gy[r * inner + i]) * static_cast<double>(a[r * inner + i]);
  s = block_sum(s);
  if (threadIdx.x == 0) gb[r] = static_cast<T>(s);
}

unsigned blocks(int64_t n) { return grid_for(n, kThreads); }
}  // namespace

template <class T>
void add(Backend, int64_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  HEMO_LAUNCH(add_kernel<T>, blocks(n), kThreads, 0, n, a, b, y);
}

template <class T>
void mul(Backend, int64_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  HEMO_LAUNCH(mul_kernel<T>, blocks(n), kThreads, 0, n, a, b, y);
}

template <class T>
void scale(Backend, int64_t n, double s, const T* a, T* y) {
  if (n == 0) return;
  HEMO_LAUNCH(scale_kernel<T>, blocks(n), kThreads, 0, n, static_cast<T>(s), a, y);
}

template <class T>
void fill(Backend, int64_t n, double value, T* y) {
  if (n == 0) return;
  HEMO_LAUNCH(fill_kernel<T>, blocks(n), kThreads, 0, n, static_cast<T>(value), y);
}

template <class T>
void mul_rows(Backend, int64_t rows, int64_t inner, const T* a, const T* b, T* y) {
  if (rows * inner == 0) return;
  HEMO_LAUNCH(mul_rows_kernel<T>, blocks(rows * inner), kThreads, 0, rows, inner, a, b, y);
}

template <class T>
void mul_rows_grad_b(Backend, int64_t rows, int64_t inner, const T* gy, const T* a, T* gb) {
  if (rows == 0) return;
  HEMO_LAUNCH(mul_rows_grad_b_kernel<T>, static_cast<unsigned>(rows), kReduceThreads, 0, inner, gy, a, gb);
}

#define HEMO_ELEMENTWISE_INSTANTIATE(T)                                             \
  template void add<T>(Backend, int64_t, const T*, const T*, T*);                            \
  template void mul<T>(Backend, int64_t, const T*, const T*, T*);                            \
  template void scale<T>(Backend, int64_t, double, const T*, T*);                            \
  template void fill<T>(Backend, int64_t, double, T*);                                       \
  template void mul_rows<T>(Backend, int64_t, int64_t, const T*, const T*, T*);              \
  template void mul_rows_grad_b<T>(Backend, int64_t, int64_t, const T*, const T*, T*);
HEMO_ELEMENTWISE_INSTANTIATE(float)
#undef HEMO_ELEMENTWISE_INSTANTIATE

}  // namespace hemo::cuda
