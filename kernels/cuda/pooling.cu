// CUDA pooling (the contract is kernels/pooling.h); max pooling NCHW or channels-last. Forward:
// one thread per output element, the window read in the reference's row-major order. Backward:
// one thread per INPUT element, which gathers the outputs whose windows cover it, in increasing
// output order; that is the order in which the reference's scatter adds them, so no atomics are
// needed and results are deterministic.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/planes.cuh"
#include "kernels/pooling.h"

namespace hemo::cuda {

namespace {
// The window of output index o along one dimension, clipped to the padded input (lo_pad, hi_pad)
// and to the input (lo, hi), as in the reference.
struct Span {
  int64_t lo_pad, hi_pad, lo, hi;
};
__device__ inline Span window(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad) {
  const int64_t start = o * stride - pad;
  const int64_t end = min(start + k, in + pad);
  return {start, end, max(start, int64_t{0}), min(end, in)};
}

// Outputs along one dimension whose window [o * stride - pad, o * stride - pad + k) covers input
// index i: o in [first, last] (empty when first > last).
__device__ inline void covering(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t outs, int64_t& first,
                                int64_t& last) {
  const int64_t top = i + pad;                     // o * stride <= top
  const int64_t bottom = top - k + 1;              // o * stride >= bottom
  first = bottom <= 0 ? 0 : (bottom + stride - 1) / stride;
  last = min(top / stride, outs - 1);
}

__device__ inline int64_t avg_divisor(const Span& r, const Span& c, bool count_include_pad) {
  return count_include_pad ? (r.hi_pad - r.lo_pad) * (c.hi_pad - c.lo_pad) : (r.hi - r.lo) * (c.hi - c.lo);
}

// Max pooling walks memory order in either format (kernels/cuda/planes.cuh): `in` is x/gx and
// `out` y/gy/argmax; argmax holds the flat index row * w + col into the channel's plane either way.
template <class T>
__global__ void max_fwd_kernel(Pool2dShape s, Planes in, Planes out, const T* __restrict__ x, T* __restrict__ y,
                               int64_t* __restrict__ argmax) {
  for (int64_t o : grid_stride(s.n * s.c * out.rows * out.cols)) {
    int64_t b, ch, i, j;
    out.pos(o, b, ch, i, j);
    const Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h), c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
    T best = -INFINITY;
    int64_t at = r.lo * s.w + c.lo;
    for (int64_t ih = r.lo; ih < r.hi; ++ih) {
      for (int64_t iw = c.lo; iw < c.hi; ++iw) {
        const T v = x[in.at(b, ch, ih, iw)];
        if (v > best || isnan(v)) {  // first maximum wins, NaN propagates (PyTorch)
          best = v;
          at = ih * s.w + iw;
        }
      }
    }
    y[o] = best;
    if (argmax) argmax[o] = at;
  }
}

template <class T>
__global__ void max_bwd_kernel(Pool2dShape s, Planes in, Planes out, const T* __restrict__ gy,
                               const int64_t* __restrict__ argmax, T* __restrict__ gx) {
  for (int64_t e : grid_stride(s.n * s.c * s.h * s.w)) {
    int64_t b, ch, ih, iw;
    in.pos(e, b, ch, ih, iw);
    const int64_t flat = ih * s.w + iw;
    int64_t i0, i1, j0, j1;
    covering(ih, s.kh, s.stride_h, s.pad_h, out.rows, i0, i1);
    covering(iw, s.kw, s.stride_w, s.pad_w, out.cols, j0, j1);
    T acc = 0;
    for (int64_t i = i0; i <= i1; ++i) {
      for (int64_t j = j0; j <= j1; ++j) {
        const int64_t o = out.at(b, ch, i, j);
        if (argmax[o] == flat) acc += gy[o];
      }
    }
    gx[e] = acc;
  }
}

template <class T>
__global__ void avg_fwd_kernel(Pool2dShape s, int64_t P, int64_t Q, bool count_include_pad, const T* __restrict__ x,
                               T* __restrict__ y) {
  for (int64_t o : grid_stride(s.n * s.c * P * Q)) {
    const int64_t pl = o / (P * Q), i = (o / Q) % P, j = o % Q;
    const T* xp = x + pl * s.h * s.w;
    const Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h), c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
    const int64_t divisor = avg_divisor(r, c, count_include_pad);
    T sum = 0;
    for (int64_t ih = r.lo; ih < r.hi; ++ih)
      for (int64_t iw = c.lo; iw < c.hi; ++iw) sum += xp[ih * s.w + iw];
    y[o] = divisor > 0 ? sum / static_cast<T>(divisor) : T(0);
  }
}

template <class T>
__global__ void avg_bwd_kernel(Pool2dShape s, int64_t P, int64_t Q, bool count_include_pad, const T* __restrict__ gy,
                               T* __restrict__ gx) {
  for (int64_t e : grid_stride(s.n * s.c * s.h * s.w)) {
    const int64_t pl = e / (s.h * s.w), ih = (e / s.w) % s.h, iw = e % s.w;
    int64_t i0, i1, j0, j1;
    covering(ih, s.kh, s.stride_h, s.pad_h, P, i0, i1);
    covering(iw, s.kw, s.stride_w, s.pad_w, Q, j0, j1);
    const T* g = gy + pl * P * Q;
    T acc = 0;
    for (int64_t i = i0; i <= i1; ++i) {
      const Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h);
      for (int64_t j = j0; j <= j1; ++j) {
        const Span c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
        const int64_t divisor = avg_divisor(r, c, count_include_pad);
        acc += divisor > 0 ? g[i * Q + j] / static_cast<T>(divisor) : T(0);
      }
    }
    gx[e] = acc;
  }
}

// Adaptive windows along one dimension: [floor(o in / out), ceil((o + 1) in / out)).
__device__ inline int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return o * in / out; }
__device__ inline int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

template <class T>
__global__ void adaptive_fwd_kernel(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                    const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t o : grid_stride(planes * oh * ow)) {
    const int64_t pl = o / (oh * ow), i = (o / ow) % oh, j = o % ow;
    const int64_t r0 = adaptive_start(i, h, oh), r1 = adaptive_end(i, h, oh);
    const int64_t c0 = adaptive_start(j, w, ow), c1 = adaptive_end(j, w, ow);
    const T* xp = x + pl * h * w;
    double sum = 0;  // global pooling sums whole planes: accumulate in double, as the reference
    for (int64_t ih = r0; ih < r1; ++ih)
      for (int64_t iw = c0; iw < c1; ++iw) sum += static_cast<double>(xp[ih * w + iw]);
    y[o] = static_cast<T>(sum / static_cast<double>((r1 - r0) * (c1 - c0)));
  }
}

template <class T>
__global__ void adaptive_bwd_kernel(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                    const T* __restrict__ gy, T* __restrict__ gx) {
  for (int64_t e : grid_stride(planes * h * w)) {
    const int64_t pl = e / (h * w), ih = (e / w) % h, iw = e % w;
    const T* g = gy + pl * oh * ow;
    T acc = 0;
    // Output rows whose windows hold ih start at floor(ih oh / h); windows grow monotonically, so
    // the scan stops at the first one that starts past ih.
    for (int64_t i = ih * oh / h; i < oh && adaptive_start(i, h, oh) <= ih; ++i) {
      if (adaptive_end(i, h, oh) <= ih) continue;
      const int64_t r_area = adaptive_end(i, h, oh) - adaptive_start(i, h, oh);
      for (int64_t j = iw * ow / w; j < ow && adaptive_start(j, w, ow) <= iw; ++j) {
        if (adaptive_end(j, w, ow) <= iw) continue;
        const int64_t area = r_area * (adaptive_end(j, w, ow) - adaptive_start(j, w, ow));
        acc += g[i * ow + j] / static_cast<T>(area);
      }
    }
    gx[e] = acc;
  }
}

inline unsigned blocks(int64_t n) { return grid_for(n, kThreads); }

Planes input_planes(const Pool2dShape& s) { return {s.c, s.h, s.w, s.channels_last}; }
Planes output_planes(const Pool2dShape& s) { return {s.c, s.p(), s.q(), s.channels_last}; }
}  // namespace

template <class T>
void max_pool2d_fwd(Backend, const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  const int64_t total = s.n * s.c * s.p() * s.q();
  if (total == 0) return;
  HEMO_LAUNCH(max_fwd_kernel<T>, blocks(total), kThreads, 0, s, input_planes(s), output_planes(s), x, y, argmax);
}

template <class T>
void max_pool2d_bwd(Backend, const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx) {
  const int64_t total = s.n * s.c * s.h * s.w;
  if (total == 0) return;
  HEMO_LAUNCH(max_bwd_kernel<T>, blocks(total), kThreads, 0, s, input_planes(s), output_planes(s), gy, argmax, gx);
}

template <class T>
void avg_pool2d_fwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* x, T* y) {
  const int64_t P = s.p(), Q = s.q(), total = s.n * s.c * P * Q;
  if (total == 0) return;
  HEMO_LAUNCH(avg_fwd_kernel<T>, blocks(total), kThreads, 0, s, P, Q, count_include_pad, x, y);
}

template <class T>
void avg_pool2d_bwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* gy, T* gx) {
  const int64_t total = s.n * s.c * s.h * s.w;
  if (total == 0) return;
  HEMO_LAUNCH(avg_bwd_kernel<T>, blocks(total), kThreads, 0, s, s.p(), s.q(), count_include_pad, gy, gx);
}

template <class T>
void adaptive_avg_pool2d_fwd(Backend, const AdaptivePool2dShape& s, const T* x, T* y) {
  const int64_t n = s.n, c = s.c, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
  const int64_t total = n * c * out_h * out_w;
  if (total == 0) return;
  HEMO_LAUNCH(adaptive_fwd_kernel<T>, blocks(total), kThreads, 0, n * c, h, w, out_h, out_w, x, y);
}

template <class T>
void adaptive_avg_pool2d_bwd(Backend, const AdaptivePool2dShape& s, const T* gy, T* gx) {
  const int64_t n = s.n, c = s.c, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
  const int64_t total = n * c * h * w;
  if (total == 0) return;
  HEMO_LAUNCH(adaptive_bwd_kernel<T>, blocks(total), kThreads, 0, n * c, h, w, out_h, out_w, gy, gx);
}

#define HEMO_POOL_INSTANTIATE(T)                                                                              \
  template void max_pool2d_fwd<T>(Backend, const Pool2dShape&, const T*, T*, int64_t*);                                \
  template void max_pool2d_bwd<T>(Backend, const Pool2dShape&, const T*, const int64_t*, T*);                          \
  template void avg_pool2d_fwd<T>(Backend, const Pool2dShape&, bool, const T*, T*);                                    \
  template void avg_pool2d_bwd<T>(Backend, const Pool2dShape&, bool, const T*, T*);                                    \
  template void adaptive_avg_pool2d_fwd<T>(Backend, const AdaptivePool2dShape&, const T*, T*); \
  template void adaptive_avg_pool2d_bwd<T>(Backend, const AdaptivePool2dShape&, const T*, T*);
HEMO_POOL_INSTANTIATE(float)
#undef HEMO_POOL_INSTANTIATE

}  // namespace hemo::cuda
