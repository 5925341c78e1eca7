// Dense (optionally grouped) 2-d convolution over NCHW tensors (contiguous or, with
// Conv2dShape::channels_last, stored NHWC), torch's F.conv2d.
//
// Shapes: x [n, c, h, w], weight [k, c / groups, r, s], bias [k] (may be null), y [n, k, p, q]:
//   p = (h + 2 pad_h - dil_h (r - 1) - 1) / stride_h + 1        (q likewise with w, s, *_w)
// Input channels and output channels are split into `groups` equal groups; output channel
// o (in group g = o / (k / groups)) sees only input channels g (c / groups) .. (g + 1) c / groups - 1:
//   y[b][o][i][j] = bias[o] + sum over ci < c/groups, kr < r, ks < s of
//       weight[o][ci][kr][ks] * x[b][g c/groups + ci][i stride_h - pad_h + kr dil_h][j stride_w - pad_w + ks dil_w]
// where taps falling outside the input read zero (padding).
//
// Backward, for the loss gradient gy = dL/dy [n, k, p, q]:
//   bwd_data:   gx[b][ci'][ih][iw] = sum of weight[o][ci][kr][ks] gy[b][o][i][j] over every (o, kr, ks,
//               i, j) whose tap above reads x[b][ci'][ih][iw]. OVERWRITES gx.
//   bwd_filter: gweight[o][ci][kr][ks] = sum over b, i, j of gy[b][o][i][j] x[b][ci'][ih][iw] (same
//               tap); gbias[o] = sum over b, i, j of gy[b][o][i][j]. OVERWRITES gweight and gbias;
//               either may be null (not wanted).
//
// The CPU version lowers each group to GEMMs (kernels/gemm.h) on im2col matrices
//   col[(ci r + kr) s + ks][b p q + i q + j] = the tap above (0 in the padding)
//   forward:     y_g = W_g col           [k/g x crs] [crs x cols]
//   bwd_data:    col = W_g^T gy_g, then col2im adds each col entry back onto the input pixel it came from
//   bwd_filter:  gW_g = gy_g col^T
// batching several images into one GEMM when an image alone has few output pixels. The
// parallelism lives inside the GEMM and the (parallel) im2col/col2im loops, one after the other.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

struct Conv2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input
  int64_t k = 0, r = 1, s = 1;         // output channels, kernel height and width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  // x, y, gx and gy stored channels-last, [n, h, w, c] (tensor/tensor.h); the weight keeps its
  // [k, c / groups, r, s]. Every kernel takes both: the CPU ones (kernels/cpu/conv2d_nhwc.h), the
  // CUDA dense one (cuDNN's NHWC descriptors) and the CUDA depthwise ones (kernels/cuda/planes.cuh).
  bool channels_last = false;

  int64_t p() const;  // output height
  int64_t q() const;  // output width
  // Throws hemo::Error naming `op` unless: n >= 0; c, k, h, w, r, s >= 1; groups >= 1 divides c
  // and k; stride, dilation >= 1; padding >= 0; p, q >= 1.
  void validate(const char* op) const;
};

// Output size along one dimension (torch's rule); may be < 1 for an input too small.
int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);

namespace cpu {
template <class T> void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T> void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace cpu

// CUDA (kernels/cuda/conv2d.cpp: cuDNN, kernels/cuda/conv_cudnn.h): device pointers, float only, on
// the current stream. Without cuDNN in the build they throw hemo::Error.
namespace cuda {
template <class T> void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y);
template <class T> void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx);
template <class T> void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias);
}  // namespace cuda

}  // namespace hemo
