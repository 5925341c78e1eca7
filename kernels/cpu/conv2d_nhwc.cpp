// Channels-last convolutions on the CPU (kernels/cpu/conv2d_nhwc.h).
#include "kernels/cpu/conv2d_nhwc.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/scratch.h"
#include "kernels/gemm.h"

namespace hemo::cpu::nhwc {
namespace {

// Images are batched into one GEMM until a chunk has about kChunkPixels output pixels (the GEMM's
// rows), as in conv2d.cpp, while its im2col buffer stays under kMaxColElements (32 MiB of floats)
// unless one image needs more; copy loops touching fewer elements than kParallelWork stay on one
// thread.
constexpr int64_t kChunkPixels = 4096, kMaxColElements = int64_t(1) << 23;
constexpr int64_t kParallelWork = int64_t(1) << 16;

struct Lowering {
  int64_t p, q, pq, cg, kg, rs, crs, nb;
  bool direct;
  explicit Lowering(const Conv2dShape& s)
      : p(s.p()), q(s.q()), pq(p * q), cg(s.c / s.groups), kg(s.k / s.groups), rs(s.r * s.s), crs(cg * rs) {
    direct = s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
    nb = std::clamp<int64_t>((kChunkPixels + pq - 1) / pq, 1, std::max<int64_t>(s.n, 1));
    if (direct) nb = std::max<int64_t>(s.n, 1);  // x itself is the GEMM's operand: one chunk
    nb = std::max<int64_t>(1, std::min(nb, kMaxColElements / (crs * pq)));
  }
};

// C = op(A) op(B) + beta C (kernels/gemm.h, beta 0 or 1). When C is narrow (n < 32: the
// channels of a thin layer) and tall, the micro-kernel's 32-wide tiles would run half empty, so
// C^T = op(B)^T op(A)^T is computed instead, into scratch slot 2, and added in transposed (1.5x
// faster for MobileNetV2's 16-channel 1x1 layers).
template <class T>
void gemm_tall(const GemmShape& g, const T* a, const T* b, T beta, T* c) {
  if (g.n >= 32 || g.m < 4 * g.n) {
    gemm(backend, g, T(1), a, b, beta, c);
    return;
  }
  T* ct = scratch<T>(2, g.n * g.m);
  gemm(backend,
       {.trans_a = !g.trans_b, .trans_b = !g.trans_a, .m = g.n, .n = g.m, .k = g.k, .lda = g.ldb, .ldb = g.lda,
        .ldc = g.m},
       T(1), b, a, T(0), ct);
#pragma omp parallel for schedule(static) if (g.m * g.n > kParallelWork)
  for (int64_t i = 0; i < g.m; ++i) {
    T* row = c + i * g.ldc;
    if (beta == T(0))
      for (int64_t j = 0; j < g.n; ++j) row[j] = ct[j * g.m + i];
    else
      for (int64_t j = 0; j < g.n; ++j) row[j] += ct[j * g.m + i];
  }
}

// w [k][cg][r][s] <-> wt [k][r][s][cg].
template <class T>
void weight_to_taps(const Conv2dShape& s, const Lowering& L, const T* w, T* wt) {
  for (int64_t o = 0; o < s.k; ++o)
    for (int64_t ci = 0; ci < L.cg; ++ci)
      for (int64_t t = 0; t < L.rs; ++t) wt[(o * L.rs + t) * L.cg + ci] = w[(o * L.cg + ci) * L.rs + t];
}
// The weight in the GEMMs' order: itself for a 1x1 kernel, else its [k][r][s][cg] copy in scratch
// slot 1.
template <class T>
const T* taps_weight(const Conv2dShape& s, const Lowering& L, const T* weight) {
  if (L.rs == 1) return weight;
  T* wt = scratch<T>(1, s.k * L.crs);
  weight_to_taps(s, L, weight, wt);
  return wt;
}

template <class T>
void taps_to_weight(const Conv2dShape& s, const Lowering& L, const T* wt, T* w) {
  for (int64_t o = 0; o < s.k; ++o)
    for (int64_t ci = 0; ci < L.cg; ++ci)
      for (int64_t t = 0; t < L.rs; ++t) w[(o * L.cg + ci) * L.rs + t] = wt[(o * L.rs + t) * L.cg + ci];
}

// The input pixel that output pixel (i, j) reads through tap (kr, ks), or false in the padding.
inline bool tap_pixel(const Conv2dShape& s, int64_t i, int64_t j, int64_t kr, int64_t ks, int64_t& ih, int64_t& iw) {
  ih = i * s.stride_h - s.pad_h + kr * s.dil_h;
  iw = j * s.stride_w - s.pad_w + ks * s.dil_w;
  return ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
}

// Whether the s taps of kernel row kr of output pixel (i, j) all read inside the input row, which
// holds them as one run of s c values when there is one group and no column dilation.
inline bool whole_row_run(const Conv2dShape& s, int64_t i, int64_t j, int64_t kr, int64_t& ih, int64_t& iw) {
  ih = i * s.stride_h - s.pad_h + kr * s.dil_h;
  iw = j * s.stride_w - s.pad_w;
  return s.groups == 1 && s.dil_w == 1 && ih >= 0 && ih < s.h && iw >= 0 && iw + s.s <= s.w;
}

// col[(b pq + i q + j)][(kr s + ks) cg + ci] for images n0 .. n0 + nb, group g.
template <class T>
void im2col(const Conv2dShape& s, const Lowering& L, const T* x, int64_t n0, int64_t nb, int64_t g, T* col) {
  const int64_t rows = nb * L.pq;
#pragma omp parallel for schedule(static) if (rows * L.crs > kParallelWork)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t b = n0 + row / L.pq, i = row % L.pq / L.q, j = row % L.q;
    T* dst = col + row * L.crs;
    for (int64_t kr = 0; kr < s.r; ++kr) {
      int64_t ih0, iw0;
      if (whole_row_run(s, i, j, kr, ih0, iw0)) {  // one copy of s c values (the stem's c = 3)
        const T* src = x + ((b * s.h + ih0) * s.w + iw0) * s.c;
        std::copy(src, src + s.s * s.c, dst);
        dst += s.s * s.c;
        continue;
      }
      for (int64_t ks = 0; ks < s.s; ++ks, dst += L.cg) {
        int64_t ih, iw;
        if (!tap_pixel(s, i, j, kr, ks, ih, iw)) {
          std::fill(dst, dst + L.cg, T(0));
          continue;
        }
        const T* src = x + ((b * s.h + ih) * s.w + iw) * s.c + g * L.cg;
        std::copy(src, src + L.cg, dst);
      }
    }
  }
}

// gx[b][ih][iw][g cg + ci] += col[row][(kr s + ks) cg + ci] (im2col's adjoint). Each thread owns
// a block of channels (pixels of one image overlap through their taps, channels never do), so no
// two threads add to the same element and the sums do not depend on the thread count.
template <class T>
void col2im(const Conv2dShape& s, const Lowering& L, const T* col, int64_t n0, int64_t nb, int64_t g, T* gx) {
  constexpr int64_t kBlock = 16;
  const int64_t blocks = (L.cg + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (blocks > 1 && nb * L.pq * L.crs > kParallelWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, c1 = std::min(L.cg, c0 + kBlock);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t pix = 0; pix < L.pq; ++pix) {
        const int64_t i = pix / L.q, j = pix % L.q;
        const T* src = col + (b * L.pq + pix) * L.crs;
        for (int64_t kr = 0; kr < s.r; ++kr)
          for (int64_t ks = 0; ks < s.s; ++ks, src += L.cg) {
            int64_t ih, iw;
            if (!tap_pixel(s, i, j, kr, ks, ih, iw)) continue;
            T* dst = gx + (((n0 + b) * s.h + ih) * s.w + iw) * s.c + g * L.cg;
            for (int64_t ci = c0; ci < c1; ++ci) dst[ci] += src[ci];
          }
      }
  }
}

}  // namespace

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e, T* y) {
  const Lowering L(s);
  std::vector<T> coefs;  // the batch norm's a and s, once for every chunk
  const ConvEpilogue<T> ec = with_coefs(e, s.k, coefs);
  const T* wt = taps_weight(s, L, weight);
  T* col = L.direct ? nullptr : scratch<T>(0, L.nb * L.pq * L.crs);
  for (int64_t n0 = 0; n0 < s.n; n0 += L.nb) {
    const int64_t nb = std::min(L.nb, s.n - n0), rows = nb * L.pq;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* a = L.direct ? x + n0 * L.pq * s.c + g * L.cg : col;
      if (!L.direct) im2col(s, L, x, n0, nb, g, col);
      gemm_tall({.trans_b = true, .m = rows, .n = L.kg, .k = L.crs, .lda = L.direct ? s.c : L.crs, .ldb = L.crs,
                     .ldc = s.k},
           a, wt + g * L.kg * L.crs, T(0), y + n0 * L.pq * s.k + g * L.kg);
    }
    // The chunk's epilogue while its output is still in cache.
    conv_epilogue(backend, {.n = nb, .k = s.k, .pq = L.pq, .channels_last = true}, ec.at(n0 * L.pq * s.k),
                  y + n0 * L.pq * s.k);
  }
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  const Lowering L(s);
  const T* wt = taps_weight(s, L, weight);
  if (!L.direct) std::fill(gx, gx + s.n * s.h * s.w * s.c, T(0));
  T* col = L.direct ? nullptr : scratch<T>(0, L.nb * L.pq * L.crs);
  for (int64_t n0 = 0; n0 < s.n; n0 += L.nb) {
    const int64_t nb = std::min(L.nb, s.n - n0), rows = nb * L.pq;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* gyg = gy + n0 * L.pq * s.k + g * L.kg;
      if (L.direct) {  // col is gx itself
        gemm_tall({.m = rows, .n = L.crs, .k = L.kg, .lda = s.k, .ldb = L.crs, .ldc = s.c}, gyg,
             wt + g * L.kg * L.crs, T(0), gx + n0 * L.pq * s.c + g * L.cg);
        continue;
      }
      gemm_tall({.m = rows, .n = L.crs, .k = L.kg, .lda = s.k, .ldb = L.crs, .ldc = L.crs}, gyg,
           wt + g * L.kg * L.crs, T(0), col);
      col2im(s, L, col, n0, nb, g, gx);
    }
  }
}

template <class T>
void conv2d_bwd_filter(const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  const Lowering L(s);
  if (gweight) {
    T* gwt = L.rs > 1 ? scratch<T>(1, s.k * L.crs) : gweight;
    if (s.n == 0) std::fill(gwt, gwt + s.k * L.crs, T(0));
    T* col = L.direct ? nullptr : scratch<T>(0, L.nb * L.pq * L.crs);
    for (int64_t n0 = 0; n0 < s.n; n0 += L.nb) {
      const int64_t nb = std::min(L.nb, s.n - n0), rows = nb * L.pq;
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* b = L.direct ? x + n0 * L.pq * s.c + g * L.cg : col;
        if (!L.direct) im2col(s, L, x, n0, nb, g, col);
        gemm_tall({.trans_a = true, .m = L.kg, .n = L.crs, .k = rows, .lda = s.k, .ldb = L.direct ? s.c : L.crs,
                       .ldc = L.crs},
             gy + n0 * L.pq * s.k + g * L.kg, b, n0 == 0 ? T(0) : T(1), gwt + g * L.kg * L.crs);
      }
    }
    if (L.rs > 1) taps_to_weight(s, L, gwt, gweight);
  }
  if (!gbias) return;
  // Column sums of gy [n pq, k]: per image in T (vectorized over channels), across images in double.
  std::vector<double> sum(static_cast<size_t>(s.k), 0.0);
  std::vector<T> part(static_cast<size_t>(s.k));
  for (int64_t b = 0; b < s.n; ++b) {
    std::fill(part.begin(), part.end(), T(0));
    for (int64_t pix = 0; pix < L.pq; ++pix) {
      const T* row = gy + (b * L.pq + pix) * s.k;
      for (int64_t o = 0; o < s.k; ++o) part[static_cast<size_t>(o)] += row[o];
    }
    for (int64_t o = 0; o < s.k; ++o) sum[static_cast<size_t>(o)] += part[static_cast<size_t>(o)];
  }
  for (int64_t o = 0; o < s.k; ++o) gbias[o] = static_cast<T>(sum[static_cast<size_t>(o)]);
}

namespace {
// weight [c][1][r][s] -> [r s][c].
template <class T>
std::vector<T> depthwise_taps(const Conv2dShape& s, const T* weight) {
  const int64_t rs = s.r * s.s;
  std::vector<T> wt(static_cast<size_t>(rs * s.c));
  for (int64_t ch = 0; ch < s.c; ++ch)
    for (int64_t t = 0; t < rs; ++t) wt[static_cast<size_t>(t * s.c + ch)] = weight[ch * rs + t];
  return wt;
}
}  // namespace

template <class T>
void depthwise_fwd(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const int64_t p = s.p(), q = s.q(), c = s.c;
  const std::vector<T> wt = depthwise_taps(s, weight);
#pragma omp parallel for collapse(2) schedule(static) if (s.n * p * q * c * s.r * s.s > kParallelWork)
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < q; ++j) {
        T* yr = y + ((b * p + i) * q + j) * c;
        for (int64_t ch = 0; ch < c; ++ch) yr[ch] = bias ? bias[ch] : T(0);
        for (int64_t kr = 0; kr < s.r; ++kr)
          for (int64_t ks = 0; ks < s.s; ++ks) {
            int64_t ih, iw;
            if (!tap_pixel(s, i, j, kr, ks, ih, iw)) continue;
            const T* xr = x + ((b * s.h + ih) * s.w + iw) * c;
            const T* w = wt.data() + (kr * s.s + ks) * c;
            for (int64_t ch = 0; ch < c; ++ch) yr[ch] += w[ch] * xr[ch];
          }
      }
}

template <class T>
void depthwise_bwd_data(const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  const int64_t p = s.p(), q = s.q(), c = s.c;
  const std::vector<T> wt = depthwise_taps(s, weight);
  std::fill(gx, gx + s.n * s.h * s.w * c, T(0));
  // One image per thread: the taps of neighbouring output pixels add to the same input pixels.
#pragma omp parallel for schedule(static) if (s.n > 1 && s.n * p * q * c * s.r * s.s > kParallelWork)
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < q; ++j) {
        const T* gr = gy + ((b * p + i) * q + j) * c;
        for (int64_t kr = 0; kr < s.r; ++kr)
          for (int64_t ks = 0; ks < s.s; ++ks) {
            int64_t ih, iw;
            if (!tap_pixel(s, i, j, kr, ks, ih, iw)) continue;
            T* xr = gx + ((b * s.h + ih) * s.w + iw) * c;
            const T* w = wt.data() + (kr * s.s + ks) * c;
            for (int64_t ch = 0; ch < c; ++ch) xr[ch] += w[ch] * gr[ch];
          }
      }
}

template <class T>
void depthwise_bwd_filter(const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  const int64_t p = s.p(), q = s.q(), c = s.c, rs = s.r * s.s, per = (rs + 1) * c;
  // Each image's tap and bias sums (every channel at once, unit stride) in T by one thread, kept
  // per image in double, then added over the images in order: the result does not depend on the
  // thread count, and the sums are per image in T and across images in double, as in the NCHW
  // kernel. (Giving each thread a block of channels instead read x at a stride of c values and
  // ran 1.6x slower than NCHW.)
  std::vector<double> per_image(static_cast<size_t>(s.n * per));
#pragma omp parallel if (s.n > 1 && s.n * p * q * c * rs > kParallelWork)
  {
    std::vector<T> part(static_cast<size_t>(per));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < s.n; ++b) {
      std::fill(part.begin(), part.end(), T(0));
      for (int64_t i = 0; i < p; ++i)
        for (int64_t j = 0; j < q; ++j) {
          const T* gr = gy + ((b * p + i) * q + j) * c;
          T* pb = part.data() + rs * c;
          for (int64_t ch = 0; ch < c; ++ch) pb[ch] += gr[ch];
          for (int64_t kr = 0; kr < s.r; ++kr)
            for (int64_t ks = 0; ks < s.s; ++ks) {
              int64_t ih, iw;
              if (!tap_pixel(s, i, j, kr, ks, ih, iw)) continue;
              const T* xr = x + ((b * s.h + ih) * s.w + iw) * c;
              T* pt = part.data() + (kr * s.s + ks) * c;
              for (int64_t ch = 0; ch < c; ++ch) pt[ch] += gr[ch] * xr[ch];
            }
        }
      double* out = per_image.data() + b * per;
      for (int64_t e = 0; e < per; ++e) out[e] = static_cast<double>(part[static_cast<size_t>(e)]);
    }
  }
  std::vector<double> acc(static_cast<size_t>(per), 0.0);
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t e = 0; e < per; ++e) acc[static_cast<size_t>(e)] += per_image[static_cast<size_t>(b * per + e)];
  for (int64_t ch = 0; ch < c; ++ch) {
    if (gweight)
      for (int64_t t = 0; t < rs; ++t) gweight[ch * rs + t] = static_cast<T>(acc[static_cast<size_t>(t * c + ch)]);
    if (gbias) gbias[ch] = static_cast<T>(acc[static_cast<size_t>(rs * c + ch)]);
  }
}

#define HEMO_NHWC_INSTANTIATE(T)                                                        \
  template void conv2d_fwd<T>(const Conv2dShape&, const T*, const T*, const ConvEpilogue<T>&, T*); \
  template void conv2d_bwd_data<T>(const Conv2dShape&, const T*, const T*, T*);          \
  template void conv2d_bwd_filter<T>(const Conv2dShape&, const T*, const T*, T*, T*);    \
  template void depthwise_fwd<T>(const Conv2dShape&, const T*, const T*, const T*, T*);  \
  template void depthwise_bwd_data<T>(const Conv2dShape&, const T*, const T*, T*);       \
  template void depthwise_bwd_filter<T>(const Conv2dShape&, const T*, const T*, T*, T*);
HEMO_NHWC_INSTANTIATE(float)
HEMO_NHWC_INSTANTIATE(double)
#undef HEMO_NHWC_INSTANTIATE

}  // namespace hemo::cpu::nhwc
