#include "kernels/pooling.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace hemo {

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
  int64_t num = in + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;  // floor division
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

int64_t Pool2dShape::p() const { return pool_output_size(h, kh, stride_h, pad_h, ceil_mode); }
int64_t Pool2dShape::q() const { return pool_output_size(w, kw, stride_w, pad_w, ceil_mode); }

void Pool2dShape::validate(const char* op) const {
  HEMO_CHECK(n >= 0 && c >= 0 && h >= 1 && w >= 1, op, ": input [", n, ", ", c, ", ", h, ", ", w,
             "] needs a non-empty plane");
  HEMO_CHECK(kh >= 1 && kw >= 1, op, ": kernel size must be positive, got ", kh, "x", kw);
  HEMO_CHECK(stride_h >= 1 && stride_w >= 1, op, ": stride must be positive, got ", stride_h, "x", stride_w);
  HEMO_CHECK(pad_h >= 0 && pad_w >= 0, op, ": padding must be non-negative, got ", pad_h, "x", pad_w);
  HEMO_CHECK(pad_h <= kh / 2 && pad_w <= kw / 2, op, ": padding ", pad_h, "x", pad_w,
             " should be at most half of the kernel size ", kh, "x", kw);
  HEMO_CHECK(p() >= 1 && q() >= 1, op, ": input plane ", h, "x", w, " is too small for kernel ", kh, "x", kw,
             " with padding ", pad_h, "x", pad_w, " (output would be ", p(), "x", q(), ")");
}

namespace cpu {

namespace {
// Work below this many window reads stays on one thread.
constexpr int64_t kParallelWork = 1 << 16;

// The window of output index o along one dimension, clipped to the padded input (lo_pad, hi_pad)
// and to the input (lo, hi).
struct Span {
  int64_t lo_pad, hi_pad, lo, hi;
};
inline Span window(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad) {
  int64_t start = o * stride - pad;
  int64_t end = std::min(start + k, in + pad);
  return {start, end, std::max<int64_t>(start, 0), std::min(end, in)};
}

// Output columns [j0, j1) of one output row whose windows lie inside the input's width, window
// rows [r.lo, r.hi): the taps in the scalar loop's order (row by row, left to right), each for the
// whole run of columns at once, so that the compare and the two selects vectorize (the scalar
// loop's data-dependent branch mispredicted about once a window: 57 ms for ResNet's stem pool at
// batch 32). SW is the stride along the width when it is a compile-time constant (1 or 2: unit
// or de-interleaving loads), else 0 and `stride` holds it (gathers). The indices are 32-bit here,
// as wide as a float, so that one mask serves both selects (a plane has fewer than 2^31 pixels).
template <int SW, class T>
[[gnu::always_inline]] inline void max_row_run(const T* xp, int64_t w, Span r, int64_t j0, int64_t j1, int64_t stride,
                                               int64_t pad, int64_t kw, T* best, int32_t* at) {
  const int64_t sw = SW ? SW : stride;
  for (int64_t j = j0; j < j1; ++j) {
    best[j] = -std::numeric_limits<T>::infinity();
    at[j] = static_cast<int32_t>(r.lo * w + j * sw - pad);
  }
  for (int64_t ih = r.lo; ih < r.hi; ++ih)
    for (int64_t dw = 0; dw < kw; ++dw) {
      const int32_t base = static_cast<int32_t>(ih * w + dw - pad), step = static_cast<int32_t>(sw);
      const T* row = xp + base;
      for (int32_t j = static_cast<int32_t>(j0); j < static_cast<int32_t>(j1); ++j) {
        const T v = row[j * sw];
        const bool take = v > best[j] || v != v;  // PyTorch's test: first maximum wins, NaN propagates
        best[j] = take ? v : best[j];
        at[j] = take ? base + j * step : at[j];
      }
    }
}
}  // namespace

namespace {
// Channels-last max pool: each output pixel's window walks the input pixels it covers, all the
// channels at once (unit stride, vectorized), with the same comparison and argmax rule as above.
template <class T>
void max_pool2d_fwd_nhwc(const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  const int64_t P = s.p(), Q = s.q(), C = s.c;
#pragma omp parallel if (s.n * C * P * Q * s.kh * s.kw > kParallelWork)
  {
    std::vector<T> best(static_cast<size_t>(C));
    std::vector<int32_t> at(static_cast<size_t>(C));  // 32-bit: the selects vectorize with the floats'

#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < s.n; ++b)
      for (int64_t i = 0; i < P; ++i) {
        const Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h);
        for (int64_t j = 0; j < Q; ++j) {
          const Span cw = window(j, s.w, s.kw, s.stride_w, s.pad_w);
          T* bp = best.data();
          int32_t* ap = at.data();
          std::fill(bp, bp + C, -std::numeric_limits<T>::infinity());
          std::fill(ap, ap + C, static_cast<int32_t>(r.lo * s.w + cw.lo));
          for (int64_t ih = r.lo; ih < r.hi; ++ih)
            for (int64_t iw = cw.lo; iw < cw.hi; ++iw) {
              const T* xr = x + ((b * s.h + ih) * s.w + iw) * C;
              const int32_t here = static_cast<int32_t>(ih * s.w + iw);
              for (int64_t k = 0; k < C; ++k) {
                const T v = xr[k];
                const bool take = v > bp[k] || v != v;  // v != v: NaN, as std::isnan above
                bp[k] = take ? v : bp[k];
                ap[k] = take ? here : ap[k];
              }
            }
          const int64_t o = ((b * P + i) * Q + j) * C;
          std::copy(bp, bp + C, y + o);
          if (argmax) std::copy(ap, ap + C, argmax + o);
        }
      }
  }
}

template <class T>
void max_pool2d_bwd_nhwc(const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx) {
  const int64_t PQ = s.p() * s.q(), HW = s.h * s.w, C = s.c;
  // One image per thread: neighbouring windows may share their maximum.
#pragma omp parallel for if (s.n * C * (PQ + HW) > kParallelWork) schedule(static)
  for (int64_t b = 0; b < s.n; ++b) {
    T* gp = gx + b * HW * C;
    std::fill(gp, gp + HW * C, T(0));
    const T* g = gy + b * PQ * C;
    const int64_t* a = argmax + b * PQ * C;
    for (int64_t o = 0; o < PQ; ++o)
      for (int64_t k = 0; k < C; ++k) gp[a[o * C + k] * C + k] += g[o * C + k];
  }
}
}  // namespace

template <class T>
void max_pool2d_fwd(Backend, const Pool2dShape& s, const T* x, T* y, int64_t* argmax) {
  if (s.channels_last) return max_pool2d_fwd_nhwc(s, x, y, argmax);
  const int64_t P = s.p(), Q = s.q(), planes = s.n * s.c;
  // Output columns whose windows need no clipping along the width: j stride - pad >= 0 and
  // j stride - pad + kw <= w.
  const int64_t j0 = std::min(Q, (s.pad_w + s.stride_w - 1) / s.stride_w);
  const int64_t j1 = std::clamp<int64_t>(s.w - s.kw + s.pad_w >= 0 ? (s.w - s.kw + s.pad_w) / s.stride_w + 1 : 0, j0, Q);
#pragma omp parallel if (planes * P * Q * s.kh * s.kw > kParallelWork)
  {
    std::vector<int32_t> run_at(static_cast<size_t>(Q));  // max_row_run's indices
#pragma omp for schedule(static)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* xp = x + pl * s.h * s.w;
      T* yp = y + pl * P * Q;
      for (int64_t i = 0; i < P; ++i) {
        Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h);
        int64_t* at_row = argmax ? argmax + pl * P * Q + i * Q : nullptr;
        T* y_row = yp + i * Q;
        int32_t* run = run_at.data();
        if (s.stride_w == 1) max_row_run<1>(xp, s.w, r, j0, j1, 1, s.pad_w, s.kw, y_row, run);
        else if (s.stride_w == 2) max_row_run<2>(xp, s.w, r, j0, j1, 2, s.pad_w, s.kw, y_row, run);
        else max_row_run<0>(xp, s.w, r, j0, j1, s.stride_w, s.pad_w, s.kw, y_row, run);
        if (at_row)
          for (int64_t j = j0; j < j1; ++j) at_row[j] = run[j];
        for (int64_t j = 0; j < Q; ++j) {  // the clipped windows at the two ends
          if (j == j0) j = j1;
          if (j >= Q) break;
          Span c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
          T best = -std::numeric_limits<T>::infinity();
          int64_t at = r.lo * s.w + c.lo;
          for (int64_t ih = r.lo; ih < r.hi; ++ih) {
            for (int64_t iw = c.lo; iw < c.hi; ++iw) {
              T v = xp[ih * s.w + iw];
              if (v > best || std::isnan(v)) {  // as in max_row_run
                best = v;
                at = ih * s.w + iw;
              }
            }
          }
          y_row[j] = best;
          if (at_row) at_row[j] = at;
        }
      }
    }
  }
}

template <class T>
void max_pool2d_bwd(Backend, const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx) {
  if (s.channels_last) return max_pool2d_bwd_nhwc(s, gy, argmax, gx);
  const int64_t PQ = s.p() * s.q(), HW = s.h * s.w, planes = s.n * s.c;
#pragma omp parallel for if (planes * (PQ + HW) > kParallelWork) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    T* gp = gx + pl * HW;
    std::fill(gp, gp + HW, T(0));
    const T* g = gy + pl * PQ;
    const int64_t* a = argmax + pl * PQ;
    for (int64_t o = 0; o < PQ; ++o) gp[a[o]] += g[o];
  }
}

template <class T>
void avg_pool2d_fwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* x, T* y) {
  const int64_t P = s.p(), Q = s.q(), planes = s.n * s.c;
#pragma omp parallel for if (planes * P * Q * s.kh * s.kw > kParallelWork) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * s.h * s.w;
    T* yp = y + pl * P * Q;
    for (int64_t i = 0; i < P; ++i) {
      Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h);
      for (int64_t j = 0; j < Q; ++j) {
        Span c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
        int64_t divisor = count_include_pad ? (r.hi_pad - r.lo_pad) * (c.hi_pad - c.lo_pad)
                                            : (r.hi - r.lo) * (c.hi - c.lo);
        T sum = 0;
        for (int64_t ih = r.lo; ih < r.hi; ++ih)
          for (int64_t iw = c.lo; iw < c.hi; ++iw) sum += xp[ih * s.w + iw];
        yp[i * Q + j] = divisor > 0 ? sum / static_cast<T>(divisor) : T(0);
      }
    }
  }
}

template <class T>
void avg_pool2d_bwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* gy, T* gx) {
  const int64_t P = s.p(), Q = s.q(), HW = s.h * s.w, planes = s.n * s.c;
#pragma omp parallel for if (planes * P * Q * s.kh * s.kw > kParallelWork) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    T* gp = gx + pl * HW;
    std::fill(gp, gp + HW, T(0));
    const T* g = gy + pl * P * Q;
    for (int64_t i = 0; i < P; ++i) {
      Span r = window(i, s.h, s.kh, s.stride_h, s.pad_h);
      for (int64_t j = 0; j < Q; ++j) {
        Span c = window(j, s.w, s.kw, s.stride_w, s.pad_w);
        int64_t divisor = count_include_pad ? (r.hi_pad - r.lo_pad) * (c.hi_pad - c.lo_pad)
                                            : (r.hi - r.lo) * (c.hi - c.lo);
        T share = divisor > 0 ? g[i * Q + j] / static_cast<T>(divisor) : T(0);
        for (int64_t ih = r.lo; ih < r.hi; ++ih)
          for (int64_t iw = c.lo; iw < c.hi; ++iw) gp[ih * s.w + iw] += share;
      }
    }
  }
}

namespace {
// Adaptive windows along one dimension: [floor(i in / out), ceil((i + 1) in / out)).
std::vector<int64_t> adaptive_bounds(int64_t in, int64_t out) {
  std::vector<int64_t> b(static_cast<size_t>(2 * out));
  for (int64_t i = 0; i < out; ++i) {
    b[static_cast<size_t>(2 * i)] = i * in / out;
    b[static_cast<size_t>(2 * i + 1)] = ((i + 1) * in + out - 1) / out;
  }
  return b;
}
}  // namespace

template <class T>
void adaptive_avg_pool2d_fwd(Backend, const AdaptivePool2dShape& s, const T* x, T* y) {
  const int64_t n = s.n, c = s.c, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
  const std::vector<int64_t> rb = adaptive_bounds(h, out_h), cb = adaptive_bounds(w, out_w);
  const int64_t planes = n * c;
#pragma omp parallel for if (planes * h * w > kParallelWork) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * h * w;
    T* yp = y + pl * out_h * out_w;
    for (int64_t i = 0; i < out_h; ++i) {
      int64_t r0 = rb[static_cast<size_t>(2 * i)], r1 = rb[static_cast<size_t>(2 * i + 1)];
      for (int64_t j = 0; j < out_w; ++j) {
        int64_t c0 = cb[static_cast<size_t>(2 * j)], c1 = cb[static_cast<size_t>(2 * j + 1)];
        double sum = 0;  // global pooling sums whole planes: accumulate in double
        for (int64_t ih = r0; ih < r1; ++ih)
          for (int64_t iw = c0; iw < c1; ++iw) sum += xp[ih * w + iw];
        yp[i * out_w + j] = static_cast<T>(sum / static_cast<double>((r1 - r0) * (c1 - c0)));
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_bwd(Backend, const AdaptivePool2dShape& s, const T* gy, T* gx) {
  const int64_t n = s.n, c = s.c, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
  const std::vector<int64_t> rb = adaptive_bounds(h, out_h), cb = adaptive_bounds(w, out_w);
  const int64_t planes = n * c;
#pragma omp parallel for if (planes * h * w > kParallelWork) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    T* gp = gx + pl * h * w;
    std::fill(gp, gp + h * w, T(0));
    const T* g = gy + pl * out_h * out_w;
    for (int64_t i = 0; i < out_h; ++i) {
      int64_t r0 = rb[static_cast<size_t>(2 * i)], r1 = rb[static_cast<size_t>(2 * i + 1)];
      for (int64_t j = 0; j < out_w; ++j) {
        int64_t c0 = cb[static_cast<size_t>(2 * j)], c1 = cb[static_cast<size_t>(2 * j + 1)];
        T share = g[i * out_w + j] / static_cast<T>((r1 - r0) * (c1 - c0));
        for (int64_t ih = r0; ih < r1; ++ih)
          for (int64_t iw = c0; iw < c1; ++iw) gp[ih * w + iw] += share;
      }
    }
  }
}

#define HEMO_POOL_INSTANTIATE(T)                                                                              \
  template void max_pool2d_fwd<T>(Backend, const Pool2dShape&, const T*, T*, int64_t*);                                \
  template void max_pool2d_bwd<T>(Backend, const Pool2dShape&, const T*, const int64_t*, T*);                          \
  template void avg_pool2d_fwd<T>(Backend, const Pool2dShape&, bool, const T*, T*);                                    \
  template void avg_pool2d_bwd<T>(Backend, const Pool2dShape&, bool, const T*, T*);                                    \
  template void adaptive_avg_pool2d_fwd<T>(Backend, const AdaptivePool2dShape&, const T*, T*); \
  template void adaptive_avg_pool2d_bwd<T>(Backend, const AdaptivePool2dShape&, const T*, T*);
HEMO_POOL_INSTANTIATE(float)
HEMO_POOL_INSTANTIATE(double)
#undef HEMO_POOL_INSTANTIATE

}  // namespace cpu
}  // namespace hemo
