// The specialized CUDA depthwise kernels (the contract is kernels/depthwise_conv2d.h): square 3x3
// and 5x5 kernels at stride 1 or 2 (every depthwise layer of MobileNetV2/V3 and EfficientNet), any
// padding, NCHW or channels-last, with the geometry fixed at compile time: ONE kernel template per
// pass, <T, K (= r = s), ST (= stride_h = stride_w), NHWC>, so the taps unroll and the strides'
// / and % are shifts. Included by depthwise_conv2d.cu, which runs them when
// depthwise_specialized() is on and use_tiled() accepts the shape, and the generic kernels otherwise.
//
// float only: in bf16 mode the activations stay float32 and depthwise convolutions run in float32
// (kernels/precision.h); T is a template parameter for the day that changes.
//
// A block is 256 threads and owns a tile of CT channels x TH x TW pixels (Tile below):
//   NCHW: CT = 1, one (image, channel) plane tile of 8 x 32, a thread per pixel, a warp along a row;
//   NHWC: CT = 32 channels (a warp's lanes) x 8 x 8 pixels (4 x 8 in the strided forward), each
//         warp 8 (4) pixels: every global load and store is 32 consecutive channels of one pixel.
// Indices inside an image are 32-bit (use_tiled() requires c h w and c p q < 2^31, and the block
// and position counts below to fit an int); only the image's base offset is 64-bit.
//
// Forward: the block loads the input window its outputs read, ((TH-1) ST + K) x ((TW-1) ST + K)
// pixels x CT channels (coalesced in memory order, zero outside the image), into shared memory
// (at most 11 x 19 x 32 floats = 26.75 KiB, 5x5 stride 2 NHWC), then each thread computes its
// outputs from it: from the bias (or 0), taps added in (kr, ks) order, taps outside the input
// skipped, exactly as the generic kernel does, so the two give the same bits.
// Input gradient: the block owns a TH x TW tile of gx and loads the gy window its elements gather
// from ((TH + K - 2) / ST + 2 rows, the same in columns); each thread gathers in the generic
// kernel's order (kr descending, ks ascending) with the same skip conditions: the same bits again.
// Weight gradient: a block owns CT channels and a span of kSpan output positions (flattened
// (b, i, j)); each thread accumulates all K*K taps of its channel (double) over its share of the
// span, the block adds its threads' sums in a fixed order (NCHW: a warp shuffle tree, then the 8
// warps in order; NHWC: the 8 warps in order), and column_sums.cuh's spans_kernel adds the spans in
// order. No atomics: deterministic, and different from the generic kernel only in how the double
// sums are rounded.
#pragma once
#include <cstdint>

#include "core/cuda/device_buffer.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/column_sums.cuh"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda::tiled {

template <bool NHWC, int ST> struct Tile {
  static constexpr int CT = NHWC ? 32 : 1;
  static constexpr int TH = NHWC ? (ST == 1 ? 8 : 4) : 8;
  static constexpr int TW = NHWC ? 8 : 32;
  static constexpr int kPerThread = CT * TH * TW / kThreads;  // outputs per thread
  static_assert(CT * TH * TW % kThreads == 0 && kThreads % CT == 0);
};
// Output positions per weight-gradient block: 16 per thread (NCHW), 64 per warp (NHWC).
template <bool NHWC> constexpr int kSpan = NHWC ? 512 : 4096;

// The sizes a tiled kernel needs, 32-bit. The element (ch, pixel) of an image is at
// ch * cs + pixel * ps (NCHW: cs = plane, ps = 1; NHWC: cs = 1, ps = c).
struct Geo {
  int c, h, w, P, Q, ph, pw;
  int ctiles, tiles_h, tiles_w;  // the block grid: images x channel tiles x pixel tiles
  int64_t in_image, out_image;   // c h w and c P Q
  int in_cs, in_ps, out_cs, out_ps;
};

// floor(a / b) for b > 0 and any a.
__device__ inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Block index -> (image, first channel, first row, first column) of its tile.
template <int CT, int TH, int TW>
__device__ inline void tile_origin(const Geo& d, int& b, int& c0, int& r0, int& q0) {
  unsigned blk = blockIdx.x;
  const int tw = static_cast<int>(blk % static_cast<unsigned>(d.tiles_w));
  blk /= static_cast<unsigned>(d.tiles_w);
  const int th = static_cast<int>(blk % static_cast<unsigned>(d.tiles_h));
  blk /= static_cast<unsigned>(d.tiles_h);
  c0 = static_cast<int>(blk % static_cast<unsigned>(d.ctiles)) * CT;
  b = static_cast<int>(blk / static_cast<unsigned>(d.ctiles));
  r0 = th * TH;
  q0 = tw * TW;
}

// Fills win [WH][WW][CT] (memory order: the CT channels of a pixel together) with the window of
// one image `src` whose top-left pixel is (r0, q0) and first channel c0, zero outside the
// rows x cols plane and past the c channels; element (ch, pixel) of the image is at
// ch * cs + pixel * ps. Consecutive threads take consecutive elements of win: coalesced in NHWC
// (consecutive channels) and in NCHW (CT = 1: consecutive columns).
template <class T, int CT, int WH, int WW>
__device__ inline void load_window(T* win, const T* src, int c, int rows, int cols, int cs, int ps, int c0, int r0,
                                   int q0) {
  for (int e = threadIdx.x; e < WH * WW * CT; e += kThreads) {
    const int ch = c0 + e % CT, p = e / CT, r = r0 + p / WW, q = q0 + p % WW;
    win[e] = ch < c && r >= 0 && r < rows && q >= 0 && q < cols ? src[ch * cs + (r * cols + q) * ps] : T(0);
  }
}

// Channel ch's K x K taps into registers (when ch < c).
template <class T, int K>
__device__ inline void load_taps(const T* weight, int ch, int c, T (&wk)[K * K]) {
  if (ch >= c) return;
#pragma unroll
  for (int t = 0; t < K * K; ++t) wk[t] = weight[ch * K * K + t];
}

template <class T, int K, int ST, bool NHWC>
__global__ void __launch_bounds__(kThreads)
    fwd_kernel(Geo d, const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
               T* __restrict__ y) {
  using G = Tile<NHWC, ST>;
  constexpr int CT = G::CT, WH = (G::TH - 1) * ST + K, WW = (G::TW - 1) * ST + K;
  __shared__ T win[WH * WW * CT];
  int b, c0, i0, j0;
  tile_origin<CT, G::TH, G::TW>(d, b, c0, i0, j0);
  const int ih0 = i0 * ST - d.ph, iw0 = j0 * ST - d.pw;
  load_window<T, CT, WH, WW>(win, x + b * d.in_image, d.c, d.h, d.w, d.in_cs, d.in_ps, c0, ih0, iw0);
  const int lane = threadIdx.x % CT, ch = c0 + lane;
  T wk[K * K];
  load_taps<T, K>(weight, ch, d.c, wk);
  __syncthreads();
  if (ch >= d.c) return;
  const T b0 = bias ? bias[ch] : T(0);
  T* yb = y + b * d.out_image + ch * d.out_cs;
#pragma unroll
  for (int k = 0; k < G::kPerThread; ++k) {
    const int p = (static_cast<int>(threadIdx.x) + k * kThreads) / CT, li = p / G::TW, lj = p % G::TW;
    const int i = i0 + li, j = j0 + lj;
    if (i >= d.P || j >= d.Q) continue;
    T acc = b0;
#pragma unroll
    for (int kr = 0; kr < K; ++kr) {
      const int ih = ih0 + li * ST + kr;
      if (ih < 0 || ih >= d.h) continue;
#pragma unroll
      for (int ks = 0; ks < K; ++ks) {
        const int iw = iw0 + lj * ST + ks;
        if (iw < 0 || iw >= d.w) continue;
        acc += wk[kr * K + ks] * win[((li * ST + kr) * WW + lj * ST + ks) * CT + lane];
      }
    }
    yb[(i * d.Q + j) * d.out_ps] = acc;
  }
}

// Tiles over the input plane (Geo's tiles_h, tiles_w count TH x TW tiles of h x w here).
template <class T, int K, int ST, bool NHWC>
__global__ void __launch_bounds__(kThreads)
    bwd_data_kernel(Geo d, const T* __restrict__ gy, const T* __restrict__ weight, T* __restrict__ gx) {
  using G = Tile<NHWC, 1>;
  constexpr int CT = G::CT, WH = (G::TH + K - 2) / ST + 2, WW = (G::TW + K - 2) / ST + 2;
  __shared__ T win[WH * WW * CT];
  int b, c0, ih0, iw0;
  tile_origin<CT, G::TH, G::TW>(d, b, c0, ih0, iw0);
  // The first output row (column) any element of the tile gathers from, or one before it.
  const int gi0 = floor_div(ih0 + d.ph - (K - 1), ST), gj0 = floor_div(iw0 + d.pw - (K - 1), ST);
  load_window<T, CT, WH, WW>(win, gy + b * d.out_image, d.c, d.P, d.Q, d.out_cs, d.out_ps, c0, gi0, gj0);
  const int lane = threadIdx.x % CT, ch = c0 + lane;
  T wk[K * K];
  load_taps<T, K>(weight, ch, d.c, wk);
  __syncthreads();
  if (ch >= d.c) return;
  T* gxb = gx + b * d.in_image + ch * d.in_cs;
#pragma unroll
  for (int k = 0; k < G::kPerThread; ++k) {
    const int p = (static_cast<int>(threadIdx.x) + k * kThreads) / CT;
    const int ih = ih0 + p / G::TW, iw = iw0 + p % G::TW;
    if (ih >= d.h || iw >= d.w) continue;
    T acc = 0;
    // Output row i reads ih through tap kr = ih + ph - i ST: increasing i is decreasing kr.
#pragma unroll
    for (int kr = K - 1; kr >= 0; --kr) {
      const int ti = ih + d.ph - kr;
      if (ti < 0 || ti % ST != 0 || ti / ST >= d.P) continue;
      const int wi = ti / ST - gi0;
#pragma unroll
      for (int ks = 0; ks < K; ++ks) {
        const int tj = iw + d.pw - ks;
        if (tj < 0 || tj % ST != 0 || tj / ST >= d.Q) continue;
        acc += wk[kr * K + ks] * win[(wi * WW + tj / ST - gj0) * CT + lane];
      }
    }
    gxb[(ih * d.w + iw) * d.in_ps] = acc;
  }
}

// partial[span][ch][tap] = sum over the span's positions t = (b, i, j) of gy x[tap]; the grid is
// spans x channel tiles (blockIdx.x = span * ctiles + channel tile), m = n P Q positions.
template <class T, int K, int ST, bool NHWC>
__global__ void __launch_bounds__(kThreads)
    bwd_filter_kernel(Geo d, int m, const T* __restrict__ x, const T* __restrict__ gy, double* __restrict__ partial) {
  constexpr int CT = NHWC ? 32 : 1, GROUPS = kThreads / CT, TAPS = K * K, WARPS = kThreads / 32;
  __shared__ double part[TAPS * CT];
  const int span = static_cast<int>(blockIdx.x / static_cast<unsigned>(d.ctiles));
  const int c0 = static_cast<int>(blockIdx.x % static_cast<unsigned>(d.ctiles)) * CT;
  const int lane = threadIdx.x % CT, group = threadIdx.x / CT, ch = c0 + lane, plane = d.P * d.Q;
  double acc[TAPS];
#pragma unroll
  for (int t = 0; t < TAPS; ++t) acc[t] = 0;
  if (ch < d.c) {
    const int t0 = span * kSpan<NHWC>, t1 = m - t0 < kSpan<NHWC> ? m : t0 + kSpan<NHWC>;
    for (int t = t0 + group; t < t1; t += GROUPS) {
      const int b = t / plane, pos = t - b * plane, i = pos / d.Q, j = pos - i * d.Q;
      const double g = static_cast<double>(gy[b * d.out_image + ch * d.out_cs + pos * d.out_ps]);
      const T* xb = x + b * d.in_image + ch * d.in_cs;
#pragma unroll
      for (int kr = 0; kr < K; ++kr) {
        const int ih = i * ST - d.ph + kr;
        if (ih < 0 || ih >= d.h) continue;
#pragma unroll
        for (int ks = 0; ks < K; ++ks) {
          const int iw = j * ST - d.pw + ks;
          if (iw < 0 || iw >= d.w) continue;
          acc[kr * K + ks] += g * static_cast<double>(xb[(ih * d.w + iw) * d.in_ps]);
        }
      }
    }
  }
  // The block's sum, in a fixed order: NCHW's threads all hold the one channel, so each warp first
  // sums its lanes (a shuffle tree); then the warps add theirs in warp order.
  if constexpr (!NHWC) {
#pragma unroll
    for (int t = 0; t < TAPS; ++t) acc[t] = warp_reduce(acc[t], Plus{});
  }
  for (int e = threadIdx.x; e < TAPS * CT; e += kThreads) part[e] = 0;
  __syncthreads();
  for (int wp = 0; wp < WARPS; ++wp) {
    if (static_cast<int>(threadIdx.x) / 32 == wp && (NHWC || threadIdx.x % 32 == 0))
#pragma unroll
      for (int t = 0; t < TAPS; ++t) part[t * CT + lane] += acc[t];
    __syncthreads();
  }
  for (int e = threadIdx.x; e < TAPS * CT; e += kThreads) {
    const int l = e % CT, t = e / CT;
    if (c0 + l < d.c) partial[(static_cast<int64_t>(span) * d.c + c0 + l) * TAPS + t] = part[e];
  }
}

}  // namespace hemo::cuda::tiled
