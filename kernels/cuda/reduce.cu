// CUDA sums along an axis (the contract is kernels/reduce.h), accumulated in double. Many short
// rows: one thread per output, adding in index order exactly as the reference does. Few long rows
// (a total sum, a mean over a large batch): one block per output and a tree reduction.
#include "kernels/cuda/launch.cuh"
#include "kernels/reduce.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void sum_rows_thread_kernel(int64_t outer, int64_t n, int64_t inner, double scale, const T* __restrict__ x,
                                       T* __restrict__ y) {
  for (int64_t r : grid_stride(outer * inner)) {
    const T* row = x + (r / inner) * n * inner + r % inner;
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += static_cast<double>(row[j * inner]);
    y[r] = static_cast<T>(scale * s);
  }
}

template <class T>
__global__ void sum_rows_block_kernel(int64_t n, int64_t inner, double scale, const T* __restrict__ x,
                                      T* __restrict__ y) {
  const int64_t r = blockIdx.x;
  const T* row = x + (r / inner) * n * inner + r % inner;
  double s = 0;
  for (int64_t j : block_stride(n)) s += static_cast<double>(row[j * inner]);
  s = block_sum(s);
  if (threadIdx.x == 0) y[r] = static_cast<T>(scale * s);
}

template <class T>
__global__ void spread_kernel(int64_t outer, int64_t n, int64_t inner, double scale, const T* __restrict__ gy,
                              T* __restrict__ gx) {
  for (int64_t e : grid_stride(outer * n * inner)) {
    const int64_t o = e / (n * inner), i = e % inner;
    gx[e] = static_cast<T>(scale * static_cast<double>(gy[o * inner + i]));
  }
}
}  // namespace

template <class T>
void sum_axis(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* x, T* y) {
  const int64_t rows = outer * inner;
  if (rows == 0) return;
  if (rows < 2048 && n >= 256) {
    HEMO_LAUNCH(sum_rows_block_kernel<T>, static_cast<unsigned>(rows), kReduceThreads, 0, n, inner, scale, x, y);
  } else {
    HEMO_LAUNCH(sum_rows_thread_kernel<T>, grid_for(rows, kThreads), kThreads, 0, outer, n, inner, scale, x, y);
  }
}

template <class T>
void sum_axis_bwd(Backend, int64_t outer, int64_t n, int64_t inner, double scale, const T* gy, T* gx) {
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  HEMO_LAUNCH(spread_kernel<T>, grid_for(total, kThreads), kThreads, 0, outer, n, inner, scale, gy, gx);
}

template void sum_axis<float>(Backend, int64_t, int64_t, int64_t, double, const float*, float*);
template void sum_axis_bwd<float>(Backend, int64_t, int64_t, int64_t, double, const float*, float*);

}  // namespace hemo::cuda
