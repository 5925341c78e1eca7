// CUDA depthwise convolution (the contract is kernels/depthwise_conv2d.h), NCHW or channels-last
// (kernels/cuda/planes.cuh: threads walk memory order). Forward: one thread per output, taps in
// (kr, ks) order from the bias, as the reference adds them. Input gradient: one thread per input
// element, gathering the outputs whose taps read it (no atomics). Weight gradient: one block per
// (channel, tap), a double-precision tree sum over the batch and the output plane (NHWC: column
// sums, coalesced over the channels); the bias gradient is a channel sum.
#include "kernels/cuda/channel.h"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/planes.cuh"
#include "kernels/depthwise_conv2d.h"

namespace hemo::cuda {

namespace {
// The plain sizes a kernel needs (Conv2dShape's methods are host code); x/gx and y/gy as planes
// in the shape's memory order.
struct Dw {
  int64_t n, c, h, w, r, s, sh, sw, ph, pw, P, Q;
  Planes in, out;
};
Dw dims(const Conv2dShape& s) {
  return {s.n, s.c, s.h, s.w, s.r, s.s, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.p(), s.q(),
          Planes{s.c, s.h, s.w, s.channels_last}, Planes{s.c, s.p(), s.q(), s.channels_last}};
}

template <class T>
__global__ void dw_fwd_kernel(Dw d, const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                              T* __restrict__ y) {
  for (int64_t o : grid_stride(d.n * d.c * d.P * d.Q)) {
    int64_t b, ch, i, j;
    d.out.pos(o, b, ch, i, j);
    const T* wk = weight + ch * d.r * d.s;
    T acc = bias ? bias[ch] : T(0);
    for (int64_t kr = 0; kr < d.r; ++kr) {
      const int64_t ih = i * d.sh - d.ph + kr;
      if (ih < 0 || ih >= d.h) continue;
      for (int64_t ks = 0; ks < d.s; ++ks) {
        const int64_t iw = j * d.sw - d.pw + ks;
        if (iw < 0 || iw >= d.w) continue;
        acc += wk[kr * d.s + ks] * x[d.in.at(b, ch, ih, iw)];
      }
    }
    y[o] = acc;
  }
}

template <class T>
__global__ void dw_bwd_data_kernel(Dw d, const T* __restrict__ gy, const T* __restrict__ weight,
                                   T* __restrict__ gx) {
  for (int64_t e : grid_stride(d.n * d.c * d.h * d.w)) {
    int64_t b, ch, ih, iw;
    d.in.pos(e, b, ch, ih, iw);
    const T* wk = weight + ch * d.r * d.s;
    T acc = 0;
    // Output row i reads ih through tap kr = ih + ph - i sh; increasing i is decreasing kr, the
    // order in which the reference adds them.
    for (int64_t kr = d.r - 1; kr >= 0; --kr) {
      const int64_t ti = ih + d.ph - kr;
      if (ti < 0 || ti % d.sh != 0 || ti / d.sh >= d.P) continue;
      const int64_t i = ti / d.sh;
      for (int64_t ks = 0; ks < d.s; ++ks) {
        const int64_t tj = iw + d.pw - ks;
        if (tj < 0 || tj % d.sw != 0 || tj / d.sw >= d.Q) continue;
        acc += wk[kr * d.s + ks] * gy[d.out.at(b, ch, i, tj / d.sw)];
      }
    }
    gx[e] = acc;
  }
}

// NCHW: one block per (channel, tap): gweight[ch][kr][ks] = sum over b, i, j of gy x[tap].
template <class T>
__global__ void dw_bwd_filter_kernel(Dw d, const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gweight) {
  const int64_t ch = blockIdx.x / (d.r * d.s), tap = blockIdx.x % (d.r * d.s), kr = tap / d.s, ks = tap % d.s;
  double acc = 0;
  for (int64_t t : block_stride(d.n * d.P * d.Q)) {
    const int64_t b = t / (d.P * d.Q), i = (t / d.Q) % d.P, j = t % d.Q;
    const int64_t ih = i * d.sh - d.ph + kr, iw = j * d.sw - d.pw + ks;
    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) continue;
    acc += static_cast<double>(gy[d.out.at(b, ch, i, j)]) * static_cast<double>(x[d.in.at(b, ch, ih, iw)]);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) gweight[blockIdx.x] = static_cast<T>(acc);
}
// NHWC: the same sums, as column sums over the N P Q output positions (kernels/cuda/column_sums.cuh),
// one per (tap, channel), a warp reading 32 consecutive channels.
template <class T>
struct FilterTerm {
  Dw d;
  const T* x;
  const T* gy;
  __device__ double operator()(int64_t tap, int64_t t, int64_t ch) const {
    const int64_t b = t / (d.P * d.Q), i = (t / d.Q) % d.P, j = t % d.Q;
    const int64_t ih = i * d.sh - d.ph + tap / d.s, iw = j * d.sw - d.pw + tap % d.s;
    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) return 0.0;
    return static_cast<double>(gy[d.out.at(b, ch, i, j)]) * static_cast<double>(x[d.in.at(b, ch, ih, iw)]);
  }
};
}  // namespace

template <class T> void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t total = d.n * d.c * d.P * d.Q;
  if (total == 0) return;
  HEMO_LAUNCH(dw_fwd_kernel<T>, grid_for(total, kThreads), kThreads, 0, d, x, weight, bias, y);
}

template <class T> void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t total = d.n * d.c * d.h * d.w;
  if (total == 0) return;
  HEMO_LAUNCH(dw_bwd_data_kernel<T>, grid_for(total, kThreads), kThreads, 0, d, gy, weight, gx);
}

template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t taps = d.r * d.s;
  if (gweight && s.channels_last) {
    column_sums(d.n * d.P * d.Q, d.c, taps, FilterTerm<T>{d, x, gy}, gweight, 1, taps);
  } else if (gweight) {
    HEMO_LAUNCH(dw_bwd_filter_kernel<T>, static_cast<unsigned>(d.c * taps), kReduceThreads, 0, d, x, gy, gweight);
  }
  // The bias gradient: channel sums of gy as [n, c, P Q], or [n P Q, c, 1] when channels-last.
  if (gbias && s.channels_last) channel_sum(d.n * d.P * d.Q, d.c, 1, gy, gbias);
  if (gbias && !s.channels_last) channel_sum(d.n, d.c, d.P * d.Q, gy, gbias);
}

template void depthwise_conv2d_fwd<float>(Backend, const Conv2dShape&, const float*, const float*, const float*, float*);
template void depthwise_conv2d_bwd_data<float>(Backend, const Conv2dShape&, const float*, const float*, float*);
template void depthwise_conv2d_bwd_filter<float>(Backend, const Conv2dShape&, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
