// CUDA depthwise convolution (the contract is kernels/depthwise_conv2d.h), NCHW or channels-last
// (kernels/cuda/planes.cuh: threads walk memory order). Forward: one thread per output, taps in
// (kr, ks) order from the bias, as the reference adds them. Input gradient: one thread per input
// element, gathering the outputs whose taps read it (no atomics). Weight gradient: one block per
// (channel, tap), a double-precision tree sum over the batch and the output plane (NHWC: column
// sums, coalesced over the channels); the bias gradient is a channel sum.
// Square 3x3 and 5x5 kernels at stride 1 and 2 take the specialized, shared-memory-tiled kernels
// of kernels/cuda/depthwise_tiled.cuh instead while depthwise_specialized() is on (the same bits
// forward and in the input gradient; the weight gradient up to double rounding).
#include <algorithm>
#include <atomic>
#include <limits>

#include "kernels/cuda/channel.h"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/depthwise_tiled.cuh"
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

// ---- Dispatch to the tiled kernels (depthwise_tiled.cuh).
std::atomic<uint64_t> g_tiled_launches{0};

constexpr int64_t kIntMax = std::numeric_limits<int>::max();
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The 32-bit sizes of a tiled launch, tiles of th x tw over rows x cols (the output plane for the
// forward, the input plane for the input gradient) and of ct channels.
tiled::Geo geo(const Conv2dShape& s, int64_t ct, int64_t rows, int64_t cols, int64_t th, int64_t tw) {
  const int64_t P = s.p(), Q = s.q(), plane_in = s.h * s.w, plane_out = P * Q;
  const bool nhwc = s.channels_last;
  const auto i32 = [](int64_t v) { return static_cast<int>(v); };
  return {.c = i32(s.c), .h = i32(s.h), .w = i32(s.w), .P = i32(P), .Q = i32(Q), .ph = i32(s.pad_h),
          .pw = i32(s.pad_w), .ctiles = i32(ceil_div(s.c, ct)), .tiles_h = i32(ceil_div(rows, th)),
          .tiles_w = i32(ceil_div(cols, tw)), .in_image = s.c * plane_in, .out_image = s.c * plane_out,
          .in_cs = i32(nhwc ? 1 : plane_in), .in_ps = i32(nhwc ? s.c : 1), .out_cs = i32(nhwc ? 1 : plane_out),
          .out_ps = i32(nhwc ? s.c : 1)};
}

// Whether the tiled kernels take this shape: the switch is on, the kernel is 3x3 or 5x5 at stride
// 1 or 2 in both directions, and every in-image index, position and block count fits an int (a
// tile is at least 4x8 pixels of one channel, so n c ceil(rows / 4) ceil(cols / 8) bounds the
// block counts; n P Q + a span the weight gradient's positions).
bool use_tiled(const Conv2dShape& s) {
  if (!depthwise_specialized() || s.r != s.s || (s.r != 3 && s.r != 5) || s.stride_h != s.stride_w ||
      (s.stride_h != 1 && s.stride_h != 2))
    return false;
  const int64_t P = s.p(), Q = s.q(), rows = std::max(s.h, P), cols = std::max(s.w, Q);
  return s.pad_h < kIntMax / 4 && s.pad_w < kIntMax / 4 && s.c * rows * cols < kIntMax &&
         s.n * P * Q < kIntMax - 4096 && s.n * s.c * ceil_div(rows, 4) * ceil_div(cols, 8) < kIntMax;
}

// Runs F::run<K, ST, NHWC>(s, args...) for the shape's geometry (use_tiled(s) holds).
template <class F, class... A> void by_geometry(const Conv2dShape& s, A... a) {
  const int key = static_cast<int>(s.r * 10 + s.stride_h) * (s.channels_last ? -1 : 1);
  switch (key) {
    case 31: return F::template run<3, 1, false>(s, a...);
    case 32: return F::template run<3, 2, false>(s, a...);
    case 51: return F::template run<5, 1, false>(s, a...);
    case 52: return F::template run<5, 2, false>(s, a...);
    case -31: return F::template run<3, 1, true>(s, a...);
    case -32: return F::template run<3, 2, true>(s, a...);
    case -51: return F::template run<5, 1, true>(s, a...);
    case -52: return F::template run<5, 2, true>(s, a...);
    default: HEMO_CHECK(false, "depthwise_conv2d: no tiled kernel for ", s.r, "x", s.s, " at stride ", s.stride_h);
  }
}

struct TiledFwd {
  template <int K, int ST, bool NHWC, class T>
  static void run(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
    using G = tiled::Tile<NHWC, ST>;
    const tiled::Geo d = geo(s, G::CT, s.p(), s.q(), G::TH, G::TW);
    const int64_t blocks = s.n * d.ctiles * d.tiles_h * d.tiles_w;
    HEMO_LAUNCH((tiled::fwd_kernel<T, K, ST, NHWC>), static_cast<unsigned>(blocks), kThreads, 0, d, x, weight, bias,
                y);
    ++g_tiled_launches;
  }
};
struct TiledBwdData {
  template <int K, int ST, bool NHWC, class T>
  static void run(const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
    using G = tiled::Tile<NHWC, 1>;
    const tiled::Geo d = geo(s, G::CT, s.h, s.w, G::TH, G::TW);
    const int64_t blocks = s.n * d.ctiles * d.tiles_h * d.tiles_w;
    HEMO_LAUNCH((tiled::bwd_data_kernel<T, K, ST, NHWC>), static_cast<unsigned>(blocks), kThreads, 0, d, gy, weight,
                gx);
    ++g_tiled_launches;
  }
};
struct TiledBwdFilter {
  template <int K, int ST, bool NHWC, class T>
  static void run(const Conv2dShape& s, const T* x, const T* gy, T* gweight) {
    constexpr int CT = NHWC ? 32 : 1;
    const tiled::Geo d = geo(s, CT, 1, 1, 1, 1);
    const int64_t m = s.n * d.P * d.Q, spans = ceil_div(m, tiled::kSpan<NHWC>), taps = K * K;
    DeviceBuffer partial(static_cast<size_t>(spans * s.c * taps) * sizeof(double));
    if (spans > 0) {
      HEMO_LAUNCH((tiled::bwd_filter_kernel<T, K, ST, NHWC>), static_cast<unsigned>(spans * d.ctiles), kThreads, 0, d,
                  static_cast<int>(m), x, gy, partial.as<double>());
    }
    // gweight[ch][tap] = the sum over the spans, in span order ([span][ch][tap] as column_sums'
    // [span][k][c] with k = channels and c = taps).
    HEMO_LAUNCH(column_sums_detail::spans_kernel<T>, grid_for(s.c * taps, kThreads), kThreads, 0, spans, s.c, taps,
                static_cast<const double*>(partial.as<double>()), taps, int64_t{1}, gweight);
    ++g_tiled_launches;
  }
};
}  // namespace

uint64_t depthwise_tiled_launches() { return g_tiled_launches.load(); }

template <class T> void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t total = d.n * d.c * d.P * d.Q;
  if (total == 0) return;
  if (use_tiled(s)) return by_geometry<TiledFwd>(s, x, weight, bias, y);
  HEMO_LAUNCH(dw_fwd_kernel<T>, grid_for(total, kThreads), kThreads, 0, d, x, weight, bias, y);
}

template <class T> void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t total = d.n * d.c * d.h * d.w;
  if (total == 0) return;
  if (use_tiled(s)) return by_geometry<TiledBwdData>(s, gy, weight, gx);
  HEMO_LAUNCH(dw_bwd_data_kernel<T>, grid_for(total, kThreads), kThreads, 0, d, gy, weight, gx);
}

template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  validate_depthwise(s, "depthwise_conv2d");
  const Dw d = dims(s);
  const int64_t taps = d.r * d.s;
  if (gweight && use_tiled(s)) {
    by_geometry<TiledBwdFilter>(s, x, gy, gweight);
  } else if (gweight && s.channels_last) {
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
