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

#include "kernels/batchnorm.h"
#include "nn/ops_norm.h"
#include "nn/pair.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// sums (may be null): on CUDA, for an ungrouped convolution without bias, the output's per-channel
// sum and sum of squares from the same cuDNN graph where an engine takes it
// (kernels/conv_epilogue.h: conv2d_fwd_stats), for nn::batch_norm in training; set to [K] float
// tensors when computed, reset (undefined) otherwise. They are not differentiable (batch norm's
// backward accounts for its statistics itself).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride = {1, 1}, Pair padding = {0, 0},
              Pair dilation = {1, 1}, int64_t groups = 1, ChannelSums* sums = nullptr);

// The convolution followed by its epilogue (kernels/conv_epilogue.h), for a forward that records
// nothing (nn/fusion.h: conv_bn_act): per output channel o,
//   y = act(((conv2d(x, weight) + bias) a_o + s_o) + residual)
// with a_o, s_o the eval batch norm's map from bn_weight, bn_bias, running_mean, running_var and
// eps (none when running_var is undefined; bn_weight, bn_bias may be undefined: 1 and 0). Every
// part but the convolution is optional. On the CPU, and in the CUDA fallback, the same bits as
// conv2d -> batch_norm (eval) -> add -> activation; with cuDNN's fused graph, within float32
// rounding of them (the sum is not rounded between the steps). A depthwise convolution runs its
// kernel, then the epilogue in place. The residual has y's shape, memory format, dtype and device.
// Throws when gradients would be recorded (grad_enabled() and some input requires grad): this op
// has no backward.
struct ConvEpilogueArgs {
  Tensor bias;
  Tensor bn_weight, bn_bias, running_mean, running_var;
  double eps = 1e-5;
  Tensor residual;
  BnAct act = BnAct::none;
};
Tensor conv2d_fused(const Tensor& x, const Tensor& weight, const ConvEpilogueArgs& e, Pair stride = {1, 1},
                    Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);

// Output spatial size of conv2d for one dimension.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);

}  // namespace hemo::nn
