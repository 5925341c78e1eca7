// The channels-last (NHWC) paths of the CPU convolutions (kernels/conv2d.h and
// kernels/depthwise_conv2d.h with Conv2dShape::channels_last set); conv2d.cpp and
// depthwise_conv2d.cpp call them. Same contracts, with x, y, gx and gy stored [n, h, w, c] and the
// weight in its usual [k, c / groups, r, s].
//
// Dense: an image's output pixels are the rows of one GEMM, so no gather or scatter is needed:
//   col[pixel][(kr s + ks) cg + ci] = x[b][ih][iw][g cg + ci]     (runs of cg contiguous channels)
//   forward:     y_g[pixels x kg]  = col W'_g^T          (y_g is y's group columns, ldc = k)
//   bwd_data:    dcol = gy_g W'_g, then col2im adds each run back onto gx
//   bwd_filter:  gW'_g (+)= gy_g^T col
// where W' is the weight reordered to [k][kr][ks][ci] (a small copy per call, back for gW). A 1x1
// stride-1 unpadded layer uses x (or gx) itself as col, with leading dimension c.
// Depthwise: direct loops with the channels innermost (unit stride, vectorized), the weight
// reordered to [r s][c].
#pragma once
#include "kernels/backend.h"
#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"

namespace hemo::cpu::nhwc {
template <class T> void conv2d_fwd(const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e, T* y);
template <class T> void conv2d_bwd_data(const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T> void conv2d_bwd_filter(const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
template <class T> void depthwise_fwd(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void depthwise_bwd_data(const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T> void depthwise_bwd_filter(const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace hemo::cpu::nhwc
