// Depthwise convolution, direct loops (contract in kernels/depthwise_conv2d.h).
//
// Every loop nest runs one output row at a time and, per kernel tap (kr, ks), over the range of
// output columns whose input column lies inside the image, so the innermost loop has no bounds
// tests (and is a plain unit-stride, vectorizable loop at stride 1). Forward and bwd_data give
// each (image, channel) plane to one thread; bwd_filter gives each channel to one thread, which
// sums over the images, so nothing is ever written by two threads. Kernel widths 3 and 5 at
// column stride 1 and 2 take the specialized row functions below (fewer passes; the same results
// but for the weight gradient's rounding), and planes of at most 16x16 outputs the plane
// functions after them (a zero-padded copy, no bounds tests), unless
// set_depthwise_specialized(false) turns them off.
#include "kernels/depthwise_conv2d.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv2d_nhwc.h"

namespace hemo::cpu {
namespace {

// Loops with fewer multiply-adds than this stay on one thread.
constexpr int64_t kParallelWork = int64_t(1) << 16;

// Output columns j in [lo, hi) read input column j stride + off inside [0, w).
inline void valid_columns(int64_t q, int64_t w, int64_t stride, int64_t off, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = w - off <= 0 ? 0 : (w - off - 1) / stride + 1;
  lo = std::min(lo, q);
  hi = std::clamp(hi, lo, q);
}

// The valid column range of every kernel column ks.
struct Taps {
  std::vector<int64_t> lo, hi;
  Taps(const Conv2dShape& s, int64_t q) : lo(static_cast<size_t>(s.s)), hi(static_cast<size_t>(s.s)) {
    for (int64_t ks = 0; ks < s.s; ++ks)
      valid_columns(q, s.w, s.stride_w, ks - s.pad_w, lo[static_cast<size_t>(ks)], hi[static_cast<size_t>(ks)]);
  }
};

// y[j] += a x[j stride + off] and its transpose x[j stride + off] += a y[j], for j in [lo, hi); the
// unit-stride case is spelled out so that it vectorizes.
template <class T>
inline void tap_forward(int64_t lo, int64_t hi, T a, const T* x, int64_t stride, int64_t off, T* y) {
  if (stride == 1) {
    for (int64_t j = lo; j < hi; ++j) y[j] += a * x[j + off];
  } else {
    for (int64_t j = lo; j < hi; ++j) y[j] += a * x[j * stride + off];
  }
}
template <class T>
inline void tap_backward(int64_t lo, int64_t hi, T a, const T* y, int64_t stride, int64_t off, T* x) {
  if (stride == 1) {
    for (int64_t j = lo; j < hi; ++j) x[j + off] += a * y[j];
  } else {
    for (int64_t j = lo; j < hi; ++j) x[j * stride + off] += a * y[j];
  }
}

// The specialized paths, for kernel widths 3 and 5 at column stride 1 or 2 (every depthwise layer
// of MobileNetV2/V3 and EfficientNet). The generic loops above make one pass over the row per tap,
// and with rows of 7 to 112 columns the passes' loop overhead, not the arithmetic, was the cost.
// With S and the stride fixed at compile time, one pass per kernel row does all S taps of each
// column in registers. Each column still gets its taps added one by one in the generic order
// (kernel row, then kernel column, ascending), so both paths give the same bits.

// Columns [jl, jh) of an output row where every tap of the kernel row reads inside the input row
// (jl == jh == q when there are none).
inline void interior(const Taps& taps, int64_t q, int64_t& jl, int64_t& jh) {
  jl = *std::max_element(taps.lo.begin(), taps.lo.end());
  jh = *std::min_element(taps.hi.begin(), taps.hi.end());
  if (jl >= jh) jl = jh = q;
}

// yr[j] += w[ks] xr[j SW + ks - pad] for ks = 0..S-1, over every column whose tap is inside.
template <int S, int SW, class T>
inline void forward_row(const Taps& taps, int64_t jl, int64_t jh, const T* w, const T* xr, int64_t pad, T* yr) {
  for (int ks = 0; ks < S; ++ks) {  // the border columns, tap by tap
    const int64_t lo = taps.lo[static_cast<size_t>(ks)], hi = taps.hi[static_cast<size_t>(ks)];
    tap_forward(lo, std::min(hi, jl), w[ks], xr, SW, ks - pad, yr);
    tap_forward(std::max(lo, jh), hi, w[ks], xr, SW, ks - pad, yr);
  }
  T wv[S];
  for (int ks = 0; ks < S; ++ks) wv[ks] = w[ks];
  for (int64_t j = jl; j < jh; ++j) {
    T acc = yr[j];
    for (int ks = 0; ks < S; ++ks) acc += wv[ks] * xr[j * SW + ks - pad];
    yr[j] = acc;
  }
}

// Column stride 1: xr[col] += w[ks] gr[col + pad - ks] for ks = 0..S-1, over the taps inside
// (the transpose of forward_row, gathered per input column instead of scattered per tap).
template <int S, class T>
inline void backward_row_s1(int64_t width, int64_t q, const T* w, const T* gr, int64_t pad, T* xr) {
  auto border = [&](int64_t col) {
    T acc = xr[col];
    for (int ks = 0; ks < S; ++ks) {
      const int64_t j = col + pad - ks;
      if (j >= 0 && j < q) acc += w[ks] * gr[j];
    }
    xr[col] = acc;
  };
  int64_t cl = std::min<int64_t>(width, std::max<int64_t>(0, S - 1 - pad));
  int64_t ch = std::clamp<int64_t>(q - pad, cl, width);
  for (int64_t col = 0; col < cl; ++col) border(col);
  T wv[S];
  for (int ks = 0; ks < S; ++ks) wv[ks] = w[ks];
  for (int64_t col = cl; col < ch; ++col) {
    T acc = xr[col];
    for (int ks = 0; ks < S; ++ks) acc += wv[ks] * gr[col + pad - ks];
    xr[col] = acc;
  }
  for (int64_t col = ch; col < width; ++col) border(col);
}

// Column stride 2: xr[col] += w[ks] gr[(col + pad - ks) / 2] for the taps ks = 0..S-1 whose
// col + pad - ks is even and lands inside [0, q): one pass gathering per input column, where the
// generic loop makes S strided scatter passes. Column 2m + e (e = 0, 1) takes the taps
// ks = e + PAR, e + PAR + 2, ... (PAR: the parity of pad), reading gr[m + (e + pad - ks) / 2], so
// the interior runs over m with both columns' taps fixed at compile time. Ascending ks, as the
// generic order: the same bits.
template <int S, int PAR, class T>
inline void backward_row_s2(int64_t width, int64_t q, const T* w, const T* gr, int64_t pad, T* xr) {
  auto border = [&](int64_t col) {
    T acc = xr[col];
    for (int ks = 0; ks < S; ++ks) {
      const int64_t t = col + pad - ks;
      if (t >= 0 && t % 2 == 0 && t / 2 < q) acc += w[ks] * gr[t / 2];
    }
    xr[col] = acc;
  };
  // Interior columns: every tap inside, (col + pad - (S - 1)) / 2 >= 0 and (col + pad) / 2 < q;
  // of those, the whole pairs (2m, 2m + 1) for m in [m0, m1).
  const int64_t cl = std::min<int64_t>(width, std::max<int64_t>(0, S - 1 - pad));
  const int64_t ch = std::clamp<int64_t>(2 * q - pad, cl, width);
  const int64_t m0 = (cl + 1) / 2, m1 = std::max(m0, ch / 2);
  for (int64_t col = 0; col < 2 * m0; ++col) border(col);
  T wv[S];
  for (int ks = 0; ks < S; ++ks) wv[ks] = w[ks];
  for (int64_t m = m0; m < m1; ++m)
    for (int e = 0; e < 2; ++e) {
      T acc = xr[2 * m + e];
      for (int ks = (e + PAR) % 2; ks < S; ks += 2) acc += wv[ks] * gr[m + (e + pad - ks) / 2];
      xr[2 * m + e] = acc;
    }
  for (int64_t col = 2 * m1; col < width; ++col) border(col);
}

// acc[ks] += sum over j of gy[j] x[j SW + ks - pad], ks = 0..S-1, one pass over the row for all S.
// Each row's interior sums run in T with the S sums in vector lanes (in double, 2 to a 16-byte
// vector, they made bwd_filter twice the forward's time); the rows then accumulate in double, so
// a float sum spans at most one output row (q / 4 terms per lane).
template <int S, int SW, class T>
inline void filter_row(const Taps& taps, int64_t jl, int64_t jh, const T* gr, const T* xr, int64_t pad, double* acc) {
  T d[S] = {};
#pragma omp simd reduction(+ : d[:S])
  for (int64_t j = jl; j < jh; ++j) {
    const T g = gr[j];
    for (int ks = 0; ks < S; ++ks) d[ks] += g * xr[j * SW + ks - pad];
  }
  for (int ks = 0; ks < S; ++ks) {
    const int64_t lo = taps.lo[static_cast<size_t>(ks)], hi = taps.hi[static_cast<size_t>(ks)];
    double b = 0;
    for (int64_t j = lo; j < std::min(hi, jl); ++j) b += static_cast<double>(gr[j]) * xr[j * SW + ks - pad];
    for (int64_t j = std::max(lo, jh); j < hi; ++j) b += static_cast<double>(gr[j]) * xr[j * SW + ks - pad];
    acc[ks] += static_cast<double>(d[ks]) + b;
  }
}

// Small planes (at most kSmallPlane output rows and columns: MobileNetV2's 16x16, 8x8 and 4x4
// layers), where the row functions' border handling costs more than the arithmetic: the plane is
// copied once into a zero-padded buffer, and every output then takes all R x S taps without a
// bounds test. A padded tap adds w * 0 = +-0, which leaves a sum unchanged (a sum that starts at
// +0 never becomes -0), so the forward and the input gradient are the generic loops' bits for
// finite weights (a -0 bias takes the row functions); the weight gradient sums in T per output
// column over the plane's rows, then in double. The input gradient takes this path at stride 1 only.
constexpr int64_t kSmallPlane = 16;
constexpr int64_t kPaddedSide = 40;  // holds (16 - 1) x 2 + 5 + 1 rows or columns and more

// Copies n values; with N > 0 and n == N the loop has a fixed trip count, so the compiler moves
// the row with vector registers instead of calling memmove for a few dozen bytes.
template <int N, class T>
inline void copy_row(const T* from, int64_t n, T* to) {
  if constexpr (N > 0) {
    if (n == N) {
      for (int c = 0; c < N; ++c) to[c] = from[c];
      return;
    }
  }
  std::copy(from, from + n, to);
}

// The padded copy of a plane: in[r][c] at buf[(r + top) * ld + c + left], zeros around it.
template <class T>
struct PaddedPlane {
  T buf[kPaddedSide * kPaddedSide];
  int64_t ld = 0;
  template <int N>
  const T* fill(const T* in, int64_t h, int64_t w, int64_t rows, int64_t cols, int64_t top, int64_t left) {
    ld = cols;
    std::fill(buf, buf + rows * cols, T(0));
    for (int64_t r = 0; r < h; ++r) copy_row<N>(in + r * w, w, buf + (r + top) * ld + left);
    return buf;
  }
};

// Whether the padded path applies to shape s with output p x q: a square kernel, the buffers'
// bounds, and rows of at least 4 outputs (narrower ones spend more on the copy than they save:
// a 4x4 input at stride 2 was 40% slower this way).
inline bool small_plane(const Conv2dShape& s, int64_t p, int64_t q) {
  return p <= kSmallPlane && q >= 4 && q <= kSmallPlane && s.r == s.s && s.pad_h < s.r && s.pad_w < s.s &&
         s.h + s.r <= kPaddedSide && s.w + s.s <= kPaddedSide && (p - 1) * s.stride_h + s.r <= kPaddedSide &&
         (q - 1) * s.stride_w + s.s <= kPaddedSide;
}

// Calls f(std::integral_constant<int, N>) with N = n for the common widths (4, 8, 16 at 128x128
// inputs; 7, 14 at 224x224) (loops of a fixed trip count, whose accumulators stay in registers),
// else with N = 0 (n at run time). Float 3x3 kernels only: double (the gradient checks) and 5x5
// kernels take N = 0, which keeps the instantiations, and the deployed hemo-infer-cpu, small (the
// five widths for every kernel size and dtype made it 180 KB larger, past its 4 MiB limit).
template <class T, int S, class F>
inline void with_row_width(int64_t n, F&& f) {
  using std::integral_constant;
  if constexpr (!std::is_same_v<T, float> || S != 3) {
    f(integral_constant<int, 0>{});
  } else if (n == 4) {
    f(integral_constant<int, 4>{});
  } else if (n == 7) {
    f(integral_constant<int, 7>{});
  } else if (n == 8) {
    f(integral_constant<int, 8>{});
  } else if (n == 14) {
    f(integral_constant<int, 14>{});
  } else if (n == 16) {
    f(integral_constant<int, 16>{});
  } else {
    f(integral_constant<int, 0>{});
  }
}

// y[i][j] = b + sum over kr, then ks, of w[kr][ks] x[i SH + kr - pad_h][j SW + ks - pad_w].
// N: Q when it is fixed at compile time (with_row_width), else 0.
template <int S, int SW, int N, class T>
void forward_plane(const Conv2dShape& s, int64_t P, int64_t Q, const T* xp, const T* wk, T b, T* yp) {
  PaddedPlane<T> pad;
  const int64_t q = N > 0 ? N : Q;
  const int64_t rows = std::max(s.h + 2 * s.pad_h, (P - 1) * s.stride_h + s.r);
  const int64_t cols = std::max(s.w + 2 * s.pad_w, (q - 1) * SW + S);
  const T* x = pad.template fill<N>(xp, s.h, s.w, rows, cols, s.pad_h, s.pad_w);
  for (int64_t i = 0; i < P; ++i) {
    T acc[kSmallPlane];
    for (int64_t j = 0; j < q; ++j) acc[j] = b;
    for (int64_t kr = 0; kr < S; ++kr) {
      const T* xr = x + (i * s.stride_h + kr) * pad.ld;
      for (int ks = 0; ks < S; ++ks) {
        const T a = wk[kr * S + ks];
        for (int64_t j = 0; j < q; ++j) acc[j] += a * xr[j * SW + ks];
      }
    }
    copy_row<N>(acc, q, yp + i * q);
  }
}

// Stride 1: gx[r][c] = sum over i ascending (kr descending), then ks, of
// w[kr][ks] gy[r + pad_h - kr][c + pad_w - ks], the order in which the generic loops scatter them.
// N: the row width s.w when fixed at compile time, else 0.
template <int S, int N, class T>
void backward_plane_s1(const Conv2dShape& s, int64_t P, int64_t Q, const T* gp, const T* wk, T* gxp) {
  PaddedPlane<T> pad;
  const int64_t w = N > 0 ? N : s.w;
  const int64_t top = S - 1 - s.pad_h, left = S - 1 - s.pad_w;
  const T* g = pad.template fill<N>(gp, P, Q, s.h + S - 1, w + S - 1, top, left);
  for (int64_t r = 0; r < s.h; ++r) {
    T acc[kPaddedSide];
    for (int64_t c = 0; c < w; ++c) acc[c] = T(0);
    for (int64_t kr = S - 1; kr >= 0; --kr) {
      const T* gr = g + (r + S - 1 - kr) * pad.ld;
      for (int ks = 0; ks < S; ++ks) {
        const T a = wk[kr * S + ks];
        for (int64_t c = 0; c < w; ++c) acc[c] += a * gr[c + S - 1 - ks];
      }
    }
    copy_row<N>(acc, w, gxp + r * w);
  }
}

// acc[kr S + ks] += sum over i and j of gy[i][j] x[i SH + kr - pad_h][j SW + ks - pad_w]: each
// tap's sums per output column j over the rows in T (vector lanes), then across j in double.
// N: Q when fixed at compile time, else 0.
template <int S, int SW, int N, class T>
void filter_plane(const Conv2dShape& s, int64_t P, int64_t Q, const T* xp, const T* gp, double* acc) {
  PaddedPlane<T> pad;
  const int64_t q = N > 0 ? N : Q;
  const int64_t rows = std::max(s.h + 2 * s.pad_h, (P - 1) * s.stride_h + s.r);
  const int64_t cols = std::max(s.w + 2 * s.pad_w, (q - 1) * SW + S);
  const T* x = pad.template fill<N>(xp, s.h, s.w, rows, cols, s.pad_h, s.pad_w);
  for (int t = 0; t < S * S; ++t) {  // tap by tap: q accumulators, which stay in registers
    const int64_t kr = t / S, ks = t % S;
    T v[kSmallPlane] = {};
    for (int64_t i = 0; i < P; ++i) {
      const T* gr = gp + i * q;
      const T* xr = x + (i * s.stride_h + kr) * pad.ld + ks;
      for (int64_t j = 0; j < q; ++j) v[j] += gr[j] * xr[j * SW];
    }
    double sum = 0;
    for (int64_t j = 0; j < q; ++j) sum += static_cast<double>(v[j]);
    acc[t] += sum;
  }
}

// Calls f(std::integral_constant<int, S>, std::integral_constant<int, SW>) when (s, stride) has a
// specialized path and the switch (depthwise_specialized(), `--no-fusion`) is on, and returns
// true; false otherwise.
template <class F>
inline bool with_width(int64_t s, int64_t stride, F&& f) {
  using std::integral_constant;
  if (!depthwise_specialized()) return false;
  if (s == 3 && stride == 1) return f(integral_constant<int, 3>{}, integral_constant<int, 1>{}), true;
  if (s == 3 && stride == 2) return f(integral_constant<int, 3>{}, integral_constant<int, 2>{}), true;
  if (s == 5 && stride == 1) return f(integral_constant<int, 5>{}, integral_constant<int, 1>{}), true;
  if (s == 5 && stride == 2) return f(integral_constant<int, 5>{}, integral_constant<int, 2>{}), true;
  return false;
}

}  // namespace

template <class T>
void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  validate_depthwise(s, "depthwise_conv2d");
  if (s.channels_last) return nhwc::depthwise_fwd(s, x, weight, bias, y);
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w;
  const Taps taps(s, Q);
  int64_t jl, jh;
  interior(taps, Q, jl, jh);
  const bool small = small_plane(s, P, Q);
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane) {
    const int64_t ch = plane % s.c;
    const T* xp = x + plane * s.h * s.w;
    const T* wk = weight + ch * s.r * s.s;
    T* yp = y + plane * P * Q;
    const T b = bias ? bias[ch] : T(0);
    if (small && !(b == T(0) && std::signbit(b)) &&
        with_width(s.s, sw, [&](auto S, auto SW) {
          with_row_width<T, S>(Q, [&](auto N) { forward_plane<S, SW, N>(s, P, Q, xp, wk, b, yp); });
        }))
      continue;
    std::fill(yp, yp + P * Q, b);
    for (int64_t i = 0; i < P; ++i) {
      T* yr = yp + i * Q;
      for (int64_t kr = 0; kr < s.r; ++kr) {
        const int64_t ih = i * s.stride_h - s.pad_h + kr;
        if (ih < 0 || ih >= s.h) continue;
        const T* xr = xp + ih * s.w;
        const T* wr = wk + kr * s.s;
        if (with_width(s.s, sw, [&](auto S, auto SW) { forward_row<S, SW>(taps, jl, jh, wr, xr, s.pad_w, yr); }))
          continue;
        for (int64_t ks = 0; ks < s.s; ++ks) {
          const size_t t = static_cast<size_t>(ks);
          tap_forward(taps.lo[t], taps.hi[t], wr[ks], xr, sw, ks - s.pad_w, yr);
        }
      }
    }
  }
}

template <class T>
void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  validate_depthwise(s, "depthwise_conv2d");
  if (s.channels_last) return nhwc::depthwise_bwd_data(s, gy, weight, gx);
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w;
  const Taps taps(s, Q);
  const bool small = small_plane(s, P, Q) && sw == 1 && s.stride_h == 1;
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane) {
    const int64_t ch = plane % s.c;
    const T* gp = gy + plane * P * Q;
    const T* wk = weight + ch * s.r * s.s;
    T* gxp = gx + plane * s.h * s.w;
    if (small && with_width(s.s, sw, [&](auto S, auto) {
          with_row_width<T, S>(s.w, [&](auto N) { backward_plane_s1<S, N>(s, P, Q, gp, wk, gxp); });
        }))
      continue;
    std::fill(gxp, gxp + s.h * s.w, T(0));
    for (int64_t i = 0; i < P; ++i) {
      const T* gr = gp + i * Q;
      for (int64_t kr = 0; kr < s.r; ++kr) {
        const int64_t ih = i * s.stride_h - s.pad_h + kr;
        if (ih < 0 || ih >= s.h) continue;
        T* xr = gxp + ih * s.w;
        const T* wr = wk + kr * s.s;
        if (with_width(s.s, sw, [&](auto S, auto SW) {
              if constexpr (decltype(SW)::value == 1) {
                backward_row_s1<S>(s.w, Q, wr, gr, s.pad_w, xr);
              } else {
                if (s.pad_w % 2 == 0) {
                  backward_row_s2<S, 0>(s.w, Q, wr, gr, s.pad_w, xr);
                } else {
                  backward_row_s2<S, 1>(s.w, Q, wr, gr, s.pad_w, xr);
                }
              }
            }))
          continue;
        for (int64_t ks = 0; ks < s.s; ++ks) {
          const size_t t = static_cast<size_t>(ks);
          tap_backward(taps.lo[t], taps.hi[t], wr[ks], gr, sw, ks - s.pad_w, xr);
        }
      }
    }
  }
}

template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  validate_depthwise(s, "depthwise_conv2d");
  if (s.channels_last) return nhwc::depthwise_bwd_filter(s, x, gy, gweight, gbias);
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w, taps_per_channel = s.r * s.s;
  const Taps taps(s, Q);
  int64_t jl, jh;
  interior(taps, Q, jl, jh);
  const bool small = small_plane(s, P, Q);
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t ch = 0; ch < s.c; ++ch) {
    std::vector<double> acc(static_cast<size_t>(taps_per_channel), 0.0);
    double bias_sum = 0;
    for (int64_t b = 0; b < s.n; ++b) {
      const T* xp = x + (b * s.c + ch) * s.h * s.w;
      const T* gp = gy + (b * s.c + ch) * P * Q;
      const bool padded =
          small && gweight &&
          with_width(s.s, sw, [&](auto S, auto SW) {
            with_row_width<T, S>(Q, [&](auto N) { filter_plane<S, SW, N>(s, P, Q, xp, gp, acc.data()); });
          });
      for (int64_t i = 0; i < P; ++i) {
        const T* gr = gp + i * Q;
#pragma omp simd reduction(+ : bias_sum)
        for (int64_t j = 0; j < Q; ++j) bias_sum += gr[j];
        if (padded) continue;
        for (int64_t kr = 0; gweight && kr < s.r; ++kr) {
          const int64_t ih = i * s.stride_h - s.pad_h + kr;
          if (ih < 0 || ih >= s.h) continue;
          const T* xr = xp + ih * s.w;
          double* ar = acc.data() + kr * s.s;
          if (with_width(s.s, sw, [&](auto S, auto SW) { filter_row<S, SW>(taps, jl, jh, gr, xr, s.pad_w, ar); }))
            continue;
          for (int64_t ks = 0; ks < s.s; ++ks) {
            const int64_t off = ks - s.pad_w;
            double dot = 0;
#pragma omp simd reduction(+ : dot)
            for (int64_t j = taps.lo[static_cast<size_t>(ks)]; j < taps.hi[static_cast<size_t>(ks)]; ++j)
              dot += static_cast<double>(gr[j]) * static_cast<double>(xr[j * sw + off]);
            acc[static_cast<size_t>(kr * s.s + ks)] += dot;
          }
        }
      }
    }
    for (int64_t t = 0; gweight && t < taps_per_channel; ++t)
      gweight[ch * taps_per_channel + t] = static_cast<T>(acc[static_cast<size_t>(t)]);
    if (gbias) gbias[ch] = static_cast<T>(bias_sum);
  }
}

#define HEMO_DEPTHWISE_INSTANTIATE(T)                                                              \
  template void depthwise_conv2d_fwd<T>(Backend, const Conv2dShape&, const T*, const T*, const T*, T*);     \
  template void depthwise_conv2d_bwd_data<T>(Backend, const Conv2dShape&, const T*, const T*, T*);          \
  template void depthwise_conv2d_bwd_filter<T>(Backend, const Conv2dShape&, const T*, const T*, T*, T*);
HEMO_DEPTHWISE_INSTANTIATE(float)
HEMO_DEPTHWISE_INSTANTIATE(double)
#undef HEMO_DEPTHWISE_INSTANTIATE

}  // namespace hemo::cpu
