// Depthwise 2-d convolution (MobileNet's): every channel convolved with its own filter, i.e. a
// grouped convolution with groups == c == k and a channel multiplier of 1. It has kernels of its
// own (CPU here, CUDA in kernels/cuda/) because lowering it to GEMMs wastes nearly all the work.
//
// Shapes (a Conv2dShape from kernels/conv2d.h with k == groups == c and dilation 1):
//   x [n, c, h, w], weight [c, 1, r, s], bias [c] (may be null), y [n, c, p, q],
//   p = (h + 2 pad_h - r) / stride_h + 1, q = (w + 2 pad_w - s) / stride_w + 1, any r, s, stride, pad.
// Forward:
//   y[b][ch][i][j] = bias[ch] + sum over kr < r, ks < s of
//                    weight[ch][0][kr][ks] * x[b][ch][i stride_h - pad_h + kr][j stride_w - pad_w + ks]
//   (taps outside the input read zero).
// Backward, for gy = dL/dy [n, c, p, q]:
//   bwd_data:   gx[b][ch][ih][iw] = sum of weight[ch][0][kr][ks] gy[b][ch][i][j] over the (kr, ks, i, j)
//               whose tap reads (ih, iw). OVERWRITES gx.
//   bwd_filter: gweight[ch][0][kr][ks] = sum over b, i, j of gy[b][ch][i][j] x[b][ch][tap];
//               gbias[ch] = sum over b, i, j of gy[b][ch][i][j]. OVERWRITES both; either may be null.
//               Sums accumulate in double, except that the CPU kernel sums each output row
//               of a 3- or 5-wide kernel in T first (kernels/cpu/depthwise_conv2d.cpp).
// Requires (checked by validate_depthwise, hemo::Error otherwise): s.validate() holds,
// k == groups == c, dil_h == dil_w == 1.
#pragma once
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/conv2d.h"

namespace hemo {

void validate_depthwise(const Conv2dShape& s, const char* op);

// Process-wide switch, on by default: the kernels specialized for square 3x3 and 5x5 kernels at
// stride 1 and 2: on CUDA the shared-memory tiles of kernels/cuda/depthwise_tiled.cuh, on the CPU
// the row functions of kernels/cpu/depthwise_conv2d.cpp (widths 3 and 5 at column stride 1 or 2).
// Off, every shape runs the generic kernels, to compare (`--no-fusion`: nn::set_fusion_enabled
// sets it too). The forward and the input gradient are the same bits either way; the weight
// gradient is rounded differently (CUDA: double sums added in another order; CPU: each output
// row's interior summed in T first).
void set_depthwise_specialized(bool on);
bool depthwise_specialized();

namespace cpu {
template <class T> void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace cpu

// CUDA (kernels/cuda/depthwise_conv2d.cu): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void depthwise_conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void depthwise_conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T>
void depthwise_conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
// Kernel launches (one per pass) that took the specialized path so far: tests check that it ran.
uint64_t depthwise_tiled_launches();
}  // namespace cuda

}  // namespace hemo
