// Differentiable 2-d convolution over NCHW tensors (the math and shapes in kernels/conv2d.h and
// kernels/depthwise_conv2d.h). Pairs are {height, width}.
//
// x [N, C, H, W], weight [K, C / groups, R, S], bias [K] or undefined ->
// y [N, K, P, Q], P = (H + 2 pad_h - dil_h (R - 1) - 1) / stride_h + 1 (Q likewise), as torch's
// F.conv2d. Differentiable w.r.t. x, weight and bias. A depthwise convolution (groups == C == K,
// dilation 1) runs the dedicated depthwise kernels; every other case runs the dense
// (grouped) implementation. Errors name the op and the mismatched shapes.
#pragma once
#include <array>
#include <cstdint>

#include "nn/pair.h"
#include "tensor/tensor.h"

namespace hemo::nn {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride = {1, 1}, Pair padding = {0, 0},
              Pair dilation = {1, 1}, int64_t groups = 1);

// Output spatial size of conv2d for one dimension.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);

}  // namespace hemo::nn
