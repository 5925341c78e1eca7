// CUDA softmax and log-softmax (the contract is kernels/softmax.h), row statistics in double.
// Short rows (k <= 64, e.g. a softmax over few classes): one thread per row, adding in index order
// as the reference does. Long rows: one block per row with tree reductions.
#include "kernels/cuda/launch.cuh"
#include "kernels/softmax.h"

namespace hemo::cuda {

namespace {
constexpr int64_t kShortRow = 64;

// The first element of row r of the [outer, k, inner] view.
__device__ inline int64_t row_base(int64_t r, int64_t k, int64_t inner) { return (r / inner) * k * inner + r % inner; }

enum class Kind { softmax, log_softmax };

template <class T>
__device__ T forward_value(Kind kind, T x, double lse) {
  const double v = static_cast<double>(x) - lse;
  return static_cast<T>(kind == Kind::softmax ? exp(v) : v);
}

template <class T>
__global__ void fwd_thread_kernel(Kind kind, int64_t rows, int64_t k, int64_t inner, const T* __restrict__ x,
                                  T* __restrict__ y) {
  for (int64_t r : grid_stride(rows)) {
    const T* row = x + row_base(r, k, inner);
    double m = row[0];
    for (int64_t j = 1; j < k; ++j) m = Max{}(m, static_cast<double>(row[j * inner]));
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += exp(static_cast<double>(row[j * inner]) - m);
    const double lse = m + log(s);
    T* out = y + row_base(r, k, inner);
    for (int64_t j = 0; j < k; ++j) out[j * inner] = forward_value(kind, row[j * inner], lse);
  }
}

template <class T>
__global__ void fwd_block_kernel(Kind kind, int64_t k, int64_t inner, const T* __restrict__ x, T* __restrict__ y) {
  const int64_t base = row_base(blockIdx.x, k, inner);
  const T* row = x + base;
  double m = -INFINITY;
  for (int64_t j : block_stride(k)) m = Max{}(m, static_cast<double>(row[j * inner]));
  m = block_max(m);
  double s = 0;
  for (int64_t j : block_stride(k)) s += exp(static_cast<double>(row[j * inner]) - m);
  const double lse = m + log(block_sum(s));
  for (int64_t j : block_stride(k)) y[base + j * inner] = forward_value(kind, row[j * inner], lse);
}

// softmax: gx = y (gy - sum gy y);  log_softmax: gx = gy - exp(y) sum gy.
template <class T>
__device__ double backward_term(Kind kind, T y, T gy) {
  return kind == Kind::softmax ? static_cast<double>(gy) * static_cast<double>(y) : static_cast<double>(gy);
}
template <class T>
__device__ T backward_value(Kind kind, T y, T gy, double sum) {
  return kind == Kind::softmax ? static_cast<T>(static_cast<double>(y) * (static_cast<double>(gy) - sum))
                               : static_cast<T>(static_cast<double>(gy) - exp(static_cast<double>(y)) * sum);
}

template <class T>
__global__ void bwd_thread_kernel(Kind kind, int64_t rows, int64_t k, int64_t inner, const T* __restrict__ y,
                                  const T* __restrict__ gy, T* __restrict__ gx) {
  for (int64_t r : grid_stride(rows)) {
    const int64_t base = row_base(r, k, inner);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += backward_term(kind, y[base + j * inner], gy[base + j * inner]);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t at = base + j * inner;
      gx[at] = backward_value(kind, y[at], gy[at], sum);
    }
  }
}

template <class T>
__global__ void bwd_block_kernel(Kind kind, int64_t k, int64_t inner, const T* __restrict__ y,
                                 const T* __restrict__ gy, T* __restrict__ gx) {
  const int64_t base = row_base(blockIdx.x, k, inner);
  double sum = 0;
  for (int64_t j : block_stride(k)) sum += backward_term(kind, y[base + j * inner], gy[base + j * inner]);
  sum = block_sum(sum);
  for (int64_t j : block_stride(k)) {
    const int64_t at = base + j * inner;
    gx[at] = backward_value(kind, y[at], gy[at], sum);
  }
}

template <class T>
void forward(Kind kind, int64_t outer, int64_t k, int64_t inner, const T* x, T* y) {
  const int64_t rows = outer * inner;
  if (rows == 0 || k == 0) return;
  if (k <= kShortRow) {
    HEMO_LAUNCH(fwd_thread_kernel<T>, grid_for(rows, kThreads), kThreads, 0, kind, rows, k, inner, x, y);
  } else {
    HEMO_LAUNCH(fwd_block_kernel<T>, static_cast<unsigned>(rows), kRowThreads, 0, kind, k, inner, x, y);
  }
}

template <class T>
void backward(Kind kind, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx) {
  const int64_t rows = outer * inner;
  if (rows == 0 || k == 0) return;
  if (k <= kShortRow) {
    HEMO_LAUNCH(bwd_thread_kernel<T>, grid_for(rows, kThreads), kThreads, 0, kind, rows, k, inner, y, gy, gx);
  } else {
    HEMO_LAUNCH(bwd_block_kernel<T>, static_cast<unsigned>(rows), kRowThreads, 0, kind, k, inner, y, gy, gx);
  }
}
}  // namespace

template <class T> void softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y) {
  forward(Kind::softmax, outer, k, inner, x, y);
}
template <class T> void log_softmax_fwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* x, T* y) {
  forward(Kind::log_softmax, outer, k, inner, x, y);
}
template <class T> void softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx) {
  backward(Kind::softmax, outer, k, inner, y, gy, gx);
}
template <class T> void log_softmax_bwd(Backend, int64_t outer, int64_t k, int64_t inner, const T* y, const T* gy, T* gx) {
  backward(Kind::log_softmax, outer, k, inner, y, gy, gx);
}

template void softmax_fwd<float>(Backend, int64_t, int64_t, int64_t, const float*, float*);
template void log_softmax_fwd<float>(Backend, int64_t, int64_t, int64_t, const float*, float*);
template void softmax_bwd<float>(Backend, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void log_softmax_bwd<float>(Backend, int64_t, int64_t, int64_t, const float*, const float*, float*);

}  // namespace hemo::cuda
