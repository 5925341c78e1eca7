// Dense grouped convolution as im2col + GEMM (contract in kernels/conv2d.h).
//
// Per chunk of nb images and per group g, with crs = (c / groups) r s rows and cols = nb p q:
//   im2col:   col[crs x cols] from x   (a 1x1 stride-1 unpadded kernel on one image uses x, or gx, as col)
//   forward:  y_g[k/groups x cols] = W_g col
//   data:     col = W_g^T gy_g, col2im adds col back onto gx
//   filter:   gW_g (+)= gy_g col^T          (the first chunk overwrites, later ones accumulate)
// With nb > 1 the GEMM's columns run over several images, so y_g and gy_g are gathered into or
// scattered from a [k/groups x cols] buffer; with nb == 1 the GEMM reads and writes the tensors.
#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv2d_nhwc.h"
#include "kernels/cpu/scratch.h"
#include "kernels/gemm.h"

namespace hemo::cpu {
namespace {

// Images are batched into one GEMM until a chunk has about this many output pixels (a GEMM with
// few columns runs far below the machine's peak), while the im2col buffer stays under
// kMaxColElements (32 MiB of floats) unless a single image needs more.
constexpr int64_t kChunkPixels = 4096, kMaxColElements = int64_t(1) << 23;
// Copy loops touching fewer elements than this stay on one thread.
constexpr int64_t kParallelWork = int64_t(1) << 17;

// A convolution seen per group and per chunk of images.
struct Lowering {
  int64_t p, q, pq;  // output plane
  int64_t cg, kg;    // input and output channels per group
  int64_t crs;       // rows of col: cg r s
  int64_t nb;        // images per chunk
  bool direct;       // 1x1, stride 1, no padding: col is x itself
  explicit Lowering(const Conv2dShape& s)
      : p(s.p()), q(s.q()), pq(p * q), cg(s.c / s.groups), kg(s.k / s.groups), crs(cg * s.r * s.s) {
    nb = std::clamp<int64_t>((kChunkPixels + pq - 1) / pq, 1, std::max<int64_t>(s.n, 1));
    nb = std::max<int64_t>(1, std::min(nb, kMaxColElements / (crs * pq)));
    direct = s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
  }
};

// Output columns j in [lo, hi) read input column j stride + off inside [0, w); the others read
// padding.
inline void valid_columns(int64_t q, int64_t w, int64_t stride, int64_t off, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = w - off <= 0 ? 0 : (w - off - 1) / stride + 1;
  lo = std::min(lo, q);
  hi = std::clamp(hi, lo, q);
}

// col[row][b pq + i q + j] for images n0 .. n0 + nb of group g, row = (ci r + kr) s + ks.
template <class T>
void im2col(const Conv2dShape& s, const Lowering& L, const T* x, int64_t n0, int64_t nb, int64_t g, T* col) {
  const int64_t cols = nb * L.pq;
#pragma omp parallel for collapse(2) schedule(static) if (L.crs * cols > kParallelWork)
  for (int64_t row = 0; row < L.crs; ++row) {
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t ci = row / (s.r * s.s), kr = row / s.s % s.r, ks = row % s.s;
      const T* plane = x + ((n0 + b) * s.c + g * L.cg + ci) * s.h * s.w;
      T* dst = col + row * cols + b * L.pq;
      const int64_t off = ks * s.dil_w - s.pad_w;
      int64_t lo, hi;
      valid_columns(L.q, s.w, s.stride_w, off, lo, hi);
      for (int64_t i = 0; i < L.p; ++i, dst += L.q) {
        const int64_t ih = i * s.stride_h - s.pad_h + kr * s.dil_h;
        if (ih < 0 || ih >= s.h) {
          std::fill(dst, dst + L.q, T(0));
          continue;
        }
        const T* src = plane + ih * s.w;
        std::fill(dst, dst + lo, T(0));
        if (s.stride_w == 1) {
          if (hi > lo) std::copy(src + lo + off, src + hi + off, dst + lo);
        } else {
          for (int64_t j = lo; j < hi; ++j) dst[j] = src[j * s.stride_w + off];
        }
        std::fill(dst + hi, dst + L.q, T(0));
      }
    }
  }
}

// gx[image][channel][tap] += col[row][column] for every entry of col (the adjoint of im2col).
// Each (image, channel) plane is one thread's, so the additions never race.
template <class T>
void col2im(const Conv2dShape& s, const Lowering& L, const T* col, int64_t n0, int64_t nb, int64_t g, T* gx) {
  const int64_t cols = nb * L.pq;
#pragma omp parallel for collapse(2) schedule(static) if (L.crs * cols > kParallelWork)
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t ci = 0; ci < L.cg; ++ci) {
      T* plane = gx + ((n0 + b) * s.c + g * L.cg + ci) * s.h * s.w;
      for (int64_t kr = 0; kr < s.r; ++kr) {
        for (int64_t ks = 0; ks < s.s; ++ks) {
          const T* src = col + ((ci * s.r + kr) * s.s + ks) * cols + b * L.pq;
          const int64_t off = ks * s.dil_w - s.pad_w;
          int64_t lo, hi;
          valid_columns(L.q, s.w, s.stride_w, off, lo, hi);
          for (int64_t i = 0; i < L.p; ++i) {
            const int64_t ih = i * s.stride_h - s.pad_h + kr * s.dil_h;
            if (ih < 0 || ih >= s.h) continue;
            T* dst = plane + ih * s.w;
            const T* row = src + i * L.q;
            if (s.stride_w == 1) {  // spelled out so that it vectorizes
              for (int64_t j = lo; j < hi; ++j) dst[j + off] += row[j];
            } else {
              for (int64_t j = lo; j < hi; ++j) dst[j * s.stride_w + off] += row[j];
            }
          }
        }
      }
    }
  }
}

// Between an NCHW tensor with `channels` channels and a [count x nb pq] buffer holding channels
// c0 .. c0 + count of images n0 .. n0 + nb.
template <class T>
void gather_channels(const T* tensor, int64_t channels, int64_t pq, int64_t n0, int64_t nb, int64_t c0, int64_t count,
                     T* buf) {
#pragma omp parallel for collapse(2) schedule(static) if (count * nb * pq > kParallelWork)
  for (int64_t o = 0; o < count; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const T* src = tensor + ((n0 + b) * channels + c0 + o) * pq;
      std::copy(src, src + pq, buf + (o * nb + b) * pq);
    }
}
template <class T>
void scatter_channels(const T* buf, int64_t channels, int64_t pq, int64_t n0, int64_t nb, int64_t c0, int64_t count,
                      T* tensor) {
#pragma omp parallel for collapse(2) schedule(static) if (count * nb * pq > kParallelWork)
  for (int64_t o = 0; o < count; ++o)
    for (int64_t b = 0; b < nb; ++b) {
      const T* src = buf + (o * nb + b) * pq;
      std::copy(src, src + pq, tensor + ((n0 + b) * channels + c0 + o) * pq);
    }
}

// gy's rows for group g of the chunk: in place when the chunk is one image, else gathered.
template <class T>
const T* group_rows(const Conv2dShape& s, const Lowering& L, const T* gy, int64_t n0, int64_t nb, int64_t g, T* buf,
                    int64_t& ld) {
  if (nb == 1) {
    ld = L.pq;
    return gy + (n0 * s.k + g * L.kg) * L.pq;
  }
  ld = nb * L.pq;
  gather_channels(gy, s.k, L.pq, n0, nb, g * L.kg, L.kg, buf);
  return buf;
}

// The GEMM's column operand for images [n0, n0 + nb) of group g: x itself when the layer is
// direct (1x1, stride 1, no padding) and there is one image, else x lowered into col by im2col.
template <class T>
const T* columns(const Conv2dShape& s, const Lowering& L, const T* x, int64_t n0, int64_t nb, int64_t g, T* col) {
  if (L.direct && nb == 1) return x + (n0 * s.c + g * L.cg) * L.pq;
  im2col(s, L, x, n0, nb, g, col);
  return col;
}

}  // namespace

template <class T>
void conv2d_fwd_fused(Backend, const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e, T* y) {
  if (s.channels_last) return nhwc::conv2d_fwd(s, x, weight, e, y);
  const Lowering L(s);
  std::vector<T> coefs;  // the batch norm's a and s, once for every chunk
  const ConvEpilogue<T> ec = with_coefs(e, s.k, coefs);
  T* col = scratch<T>(0, L.crs * L.nb * L.pq);
  T* buf = L.nb > 1 ? scratch<T>(1, L.kg * L.nb * L.pq) : nullptr;
  for (int64_t n0 = 0; n0 < s.n; n0 += L.nb) {
    const int64_t nb = std::min(L.nb, s.n - n0), cols = nb * L.pq;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* cols_of = columns(s, L, x, n0, nb, g, col);
      const T* wg = weight + g * L.kg * L.crs;
      if (nb == 1) {
        gemm(backend, {.m = L.kg, .n = cols, .k = L.crs, .lda = L.crs, .ldb = cols, .ldc = L.pq}, T(1), wg, cols_of,
             T(0), y + (n0 * s.k + g * L.kg) * L.pq);
      } else {
        gemm(backend, {.m = L.kg, .n = cols, .k = L.crs, .lda = L.crs, .ldb = cols, .ldc = cols}, T(1), wg, cols_of,
             T(0), buf);
        scatter_channels(buf, s.k, L.pq, n0, nb, g * L.kg, L.kg, y);
      }
    }
    // The chunk's epilogue while its output is still in cache.
    conv_epilogue(backend, {.n = nb, .k = s.k, .pq = L.pq}, ec.at(n0 * s.k * L.pq), y + n0 * s.k * L.pq);
  }
}

template <class T>
void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  conv2d_fwd_fused(backend, s, x, weight, ConvEpilogue<T>{.bias = bias}, y);
}

template <class T>
void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  if (s.channels_last) return nhwc::conv2d_bwd_data(s, gy, weight, gx);
  const Lowering L(s);
  std::fill(gx, gx + s.n * s.c * s.h * s.w, T(0));
  T* col = scratch<T>(0, L.crs * L.nb * L.pq);
  T* buf = L.nb > 1 ? scratch<T>(1, L.kg * L.nb * L.pq) : nullptr;
  for (int64_t n0 = 0; n0 < s.n; n0 += L.nb) {
    const int64_t nb = std::min(L.nb, s.n - n0), cols = nb * L.pq;
    for (int64_t g = 0; g < s.groups; ++g) {
      int64_t ld;
      const T* gyg = group_rows(s, L, gy, n0, nb, g, buf, ld);
      const T* wg = weight + g * L.kg * L.crs;
      if (L.direct && nb == 1) {  // col is the gradient plane itself
        gemm(backend, {.trans_a = true, .m = L.crs, .n = cols, .k = L.kg, .lda = L.crs, .ldb = ld, .ldc = L.pq}, T(1),
             wg, gyg, T(0), gx + (n0 * s.c + g * L.cg) * L.pq);
        continue;
      }
      gemm(backend, {.trans_a = true, .m = L.crs, .n = cols, .k = L.kg, .lda = L.crs, .ldb = ld, .ldc = cols}, T(1), wg,
           gyg, T(0), col);
      col2im(s, L, col, n0, nb, g, gx);
    }
  }
}

template <class T>
void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  if (s.channels_last) return nhwc::conv2d_bwd_filter(s, x, gy, gweight, gbias);
  const Lowering L(s);
  if (gweight && s.n == 0) std::fill(gweight, gweight + s.k * L.crs, T(0));
  T* col = scratch<T>(0, L.crs * L.nb * L.pq);
  T* buf = L.nb > 1 ? scratch<T>(1, L.kg * L.nb * L.pq) : nullptr;
  for (int64_t n0 = 0; gweight && n0 < s.n; n0 += L.nb) {
    const int64_t nb = std::min(L.nb, s.n - n0), cols = nb * L.pq;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* cols_of = columns(s, L, x, n0, nb, g, col);
      int64_t ld;
      const T* gyg = group_rows(s, L, gy, n0, nb, g, buf, ld);
      gemm(backend, {.trans_b = true, .m = L.kg, .n = L.crs, .k = cols, .lda = ld, .ldb = cols, .ldc = L.crs}, T(1),
           gyg, cols_of, n0 == 0 ? T(0) : T(1), gweight + g * L.kg * L.crs);
    }
  }
  if (!gbias) return;
#pragma omp parallel for schedule(static) if (s.n * s.k * L.pq > kParallelWork)
  for (int64_t o = 0; o < s.k; ++o) {
    double sum = 0;  // over planes in double, within a plane in T (vectorized)
    for (int64_t b = 0; b < s.n; ++b) {
      const T* plane = gy + (b * s.k + o) * L.pq;
      T part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t i = 0; i < L.pq; ++i) part += plane[i];
      sum += part;
    }
    gbias[o] = static_cast<T>(sum);
  }
}

#define HEMO_CONV2D_INSTANTIATE(T)                                                          \
  template void conv2d_fwd<T>(Backend, const Conv2dShape&, const T*, const T*, const T*, T*);      \
  template void conv2d_fwd_fused<T>(Backend, const Conv2dShape&, const T*, const T*, const ConvEpilogue<T>&, T*); \
  template void conv2d_bwd_data<T>(Backend, const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_bwd_filter<T>(Backend, const Conv2dShape&, const T*, const T*, T*, T*);
HEMO_CONV2D_INSTANTIATE(float)
HEMO_CONV2D_INSTANTIATE(double)
#undef HEMO_CONV2D_INSTANTIATE

}  // namespace hemo::cpu
