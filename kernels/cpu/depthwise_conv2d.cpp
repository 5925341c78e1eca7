// Depthwise convolution, direct loops (contract in kernels/depthwise_conv2d.h).
//
// Every loop nest runs one output row at a time and, per kernel tap (kr, ks), over the range of
// output columns whose input column lies inside the image, so the innermost loop has no bounds
// tests (and is a plain unit-stride, vectorizable loop at stride 1). Forward and bwd_data give
// each (image, channel) plane to one thread; bwd_filter gives each channel to one thread, which
// sums over the images, so nothing is ever written by two threads.
#include "kernels/depthwise_conv2d.h"

#include <algorithm>
#include <vector>

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

}  // namespace

template <class T>
void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  validate_depthwise(s, "depthwise_conv2d");
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w;
  const Taps taps(s, Q);
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane) {
    const int64_t ch = plane % s.c;
    const T* xp = x + plane * s.h * s.w;
    const T* wk = weight + ch * s.r * s.s;
    T* yp = y + plane * P * Q;
    std::fill(yp, yp + P * Q, bias ? bias[ch] : T(0));
    for (int64_t i = 0; i < P; ++i) {
      T* yr = yp + i * Q;
      for (int64_t kr = 0; kr < s.r; ++kr) {
        const int64_t ih = i * s.stride_h - s.pad_h + kr;
        if (ih < 0 || ih >= s.h) continue;
        const T* xr = xp + ih * s.w;
        for (int64_t ks = 0; ks < s.s; ++ks) {
          const size_t t = static_cast<size_t>(ks);
          tap_forward(taps.lo[t], taps.hi[t], wk[kr * s.s + ks], xr, sw, ks - s.pad_w, yr);
        }
      }
    }
  }
}

template <class T>
void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  validate_depthwise(s, "depthwise_conv2d");
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w;
  const Taps taps(s, Q);
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t plane = 0; plane < s.n * s.c; ++plane) {
    const int64_t ch = plane % s.c;
    const T* gp = gy + plane * P * Q;
    const T* wk = weight + ch * s.r * s.s;
    T* gxp = gx + plane * s.h * s.w;
    std::fill(gxp, gxp + s.h * s.w, T(0));
    for (int64_t i = 0; i < P; ++i) {
      const T* gr = gp + i * Q;
      for (int64_t kr = 0; kr < s.r; ++kr) {
        const int64_t ih = i * s.stride_h - s.pad_h + kr;
        if (ih < 0 || ih >= s.h) continue;
        T* xr = gxp + ih * s.w;
        for (int64_t ks = 0; ks < s.s; ++ks) {
          const size_t t = static_cast<size_t>(ks);
          tap_backward(taps.lo[t], taps.hi[t], wk[kr * s.s + ks], gr, sw, ks - s.pad_w, xr);
        }
      }
    }
  }
}

template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  validate_depthwise(s, "depthwise_conv2d");
  const int64_t P = s.p(), Q = s.q(), sw = s.stride_w, taps_per_channel = s.r * s.s;
  const Taps taps(s, Q);
#pragma omp parallel for schedule(static) if (s.n * s.c * P * Q * s.r * s.s > kParallelWork)
  for (int64_t ch = 0; ch < s.c; ++ch) {
    std::vector<double> acc(static_cast<size_t>(taps_per_channel), 0.0);
    double bias_sum = 0;
    for (int64_t b = 0; b < s.n; ++b) {
      const T* xp = x + (b * s.c + ch) * s.h * s.w;
      const T* gp = gy + (b * s.c + ch) * P * Q;
      for (int64_t i = 0; i < P; ++i) {
        const T* gr = gp + i * Q;
#pragma omp simd reduction(+ : bias_sum)
        for (int64_t j = 0; j < Q; ++j) bias_sum += gr[j];
        for (int64_t kr = 0; gweight && kr < s.r; ++kr) {
          const int64_t ih = i * s.stride_h - s.pad_h + kr;
          if (ih < 0 || ih >= s.h) continue;
          const T* xr = xp + ih * s.w;
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
