// Dense (and grouped) 2-d convolution on the GPU through cuDNN 9, NCHW float32.
//
// Geometry as torch's F.conv2d: x [n, c, h, w], weight [k, c / groups, r, s], y [n, k, p, q],
// p = (h + 2 pad_h - dil_h (r - 1) - 1) / stride_h + 1 (q likewise). All three OVERWRITE their
// output (cuDNN's beta = 0: the old contents are never read). Bias is not part of these calls.
//
// Algorithm choice: cuDNN's heuristics (cudnnGet*Algorithm_v7) for the shape, keeping the first
// candidate that is supported, deterministic when any deterministic one qualifies, honours the
// TF32 switch of kernels/cuda/blas.h (off: FMA math only), and needs at most the workspace limit;
// the choice is cached per (device, shape, direction, TF32 switch). The workspace comes from the
// caching allocator (kernels/cuda/device_buffer.h) for the call's duration. The limit is 256 MiB,
// or HEMO_CUDNN_WORKSPACE_MB from the environment.
//
// In a build without cuDNN (cmake/cuda.cmake explains when) every function throws hemo::Error
// saying so: a dense convolution on a CUDA tensor never falls back to anything else.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hemo::cuda {

struct ConvGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input
  int64_t k = 0, r = 1, s = 1;         // output channels, kernel height and width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t groups = 1;
  int64_t p() const { return (h + 2 * pad_h - dil_h * (r - 1) - 1) / stride_h + 1; }
  int64_t q() const { return (w + 2 * pad_w - dil_w * (s - 1) - 1) / stride_w + 1; }
};

bool cudnn_available();  // built with cuDNN

void cudnn_conv_fwd(const ConvGeometry& g, const float* x, const float* weight, float* y);
void cudnn_conv_bwd_data(const ConvGeometry& g, const float* weight, const float* gy, float* gx);
void cudnn_conv_bwd_filter(const ConvGeometry& g, const float* x, const float* gy, float* gweight);

size_t cudnn_workspace_limit();  // bytes
size_t cudnn_cached_algorithms();  // how many (shape, direction) choices are cached

}  // namespace hemo::cuda
