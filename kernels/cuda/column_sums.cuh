// Sums down the rows of a channels-last (row-major [M, C]) layout, coalesced over the columns:
//
//   out[kk * out_k + col * out_c] = sum over t < m of term(kk, t, col)     kk < k, col < c
//
// k independent sums per column (a depthwise filter's taps; 1 for a bias). The per-channel
// kernels elsewhere give one block to each channel and would read such a layout at a stride of C;
// here a block is 32 columns (one per lane) by 8 warps, so a warp reads 32 consecutive columns of
// one row. Rows are cut into spans of kSpanRows, one block per (column tile, kk, span); within a
// span the warps take rows round-robin and their partial sums are added in warp order, then a
// second kernel adds the spans in order: double precision throughout, and a fixed order, so the
// result does not depend on the GPU. term is a copyable functor with a __device__
// `double operator()(int64_t kk, int64_t t, int64_t col) const`.
#pragma once
#include <cstdint>

#include "core/cuda/device_buffer.h"
#include "core/error.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace column_sums_detail {
constexpr int kLanes = 32, kWarps = 8;
constexpr int64_t kSpanRows = 1024;

template <class Term>
__global__ void span_kernel(int64_t m, int64_t c, Term term, double* __restrict__ partial) {
  __shared__ double part[kWarps][kLanes];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kLanes + threadIdx.x, kk = blockIdx.y;
  const int64_t span = blockIdx.z, t0 = span * kSpanRows, t1 = min(m, t0 + kSpanRows);
  double s = 0;
  if (col < c)
    for (int64_t t = t0 + threadIdx.y; t < t1; t += kWarps) s += term(kk, t, col);
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y != 0 || col >= c) return;
  double total = 0;
  for (int w = 0; w < kWarps; ++w) total += part[w][threadIdx.x];
  partial[(span * gridDim.y + kk) * c + col] = total;
}

template <class T>
__global__ void spans_kernel(int64_t spans, int64_t k, int64_t c, const double* __restrict__ partial, int64_t out_k,
                             int64_t out_c, T* __restrict__ out) {
  for (int64_t e : grid_stride(k * c)) {
    double s = 0;
    for (int64_t span = 0; span < spans; ++span) s += partial[span * k * c + e];
    out[e / c * out_k + e % c * out_c] = static_cast<T>(s);
  }
}
}  // namespace column_sums_detail

template <class T, class Term>
void column_sums(int64_t m, int64_t c, int64_t k, Term term, T* out, int64_t out_k, int64_t out_c) {
  namespace d = column_sums_detail;
  if (c == 0 || k == 0) return;
  const int64_t spans = m > 0 ? (m + d::kSpanRows - 1) / d::kSpanRows : 0;
  HEMO_CHECK(k <= 65535 && spans <= 65535, "column_sums: ", m, " rows x ", k, " sums is too large for one launch");
  DeviceBuffer partial(static_cast<size_t>(spans * k * c) * sizeof(double));
  if (spans > 0) {
    const dim3 grid(static_cast<unsigned>((c + d::kLanes - 1) / d::kLanes), static_cast<unsigned>(k),
                    static_cast<unsigned>(spans));
    HEMO_LAUNCH(d::span_kernel<Term>, grid, dim3(d::kLanes, d::kWarps), 0, m, c, term, partial.as<double>());
  }
  HEMO_LAUNCH(d::spans_kernel<T>, grid_for(k * c, kThreads), kThreads, 0, spans, k, c,
              static_cast<const double*>(partial.as<double>()), out_k, out_c, out);
}

}  // namespace hemo::cuda
