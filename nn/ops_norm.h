// Differentiable batch normalization and layer normalization over channel dimension 1 (math in
// kernels/batchnorm.h and kernels/layernorm.h).
#pragma once
#include "kernels/batchnorm.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// x: [N, C, H, W] (BatchNorm2d) or [N, C] (BatchNorm1d; any [N, C, ...] works, statistics run over
// every dimension but 1). weight, bias: [C], or both undefined (affine off). running_mean,
// running_var: [C] plain tensors (no autograd).
//   training: normalize with the batch statistics and, when the running tensors are defined,
//             update them in place: running = (1 - momentum) running + momentum batch, the
//             variance unbiased (M / (M - 1)) as PyTorch. Needs more than one value per channel.
//   eval:     normalize with running_mean / running_var (both required); an affine map of x.
// Differentiable w.r.t. x, weight and bias in both modes. The eval backward uses a copy of the
// running statistics taken at forward time, so a later update cannot change it.
// act (relu, relu6): the activation applied in the same pass, one op "batch_norm_relu" /
// "batch_norm_relu6" whose output and gradients are bit for bit those of batch_norm followed by
// nn::activation (kernels/batchnorm.h); the backward keeps the output instead of the intermediate.
// residual (x's shape, device and dtype; undefined: none): added to the batch norm's output before
// act, act(batch_norm(x) + residual), one op "batch_norm_add_relu" / "_relu6" / "batch_norm_add",
// bit for bit batch_norm, nn::add(., residual) and nn::activation in turn (ResNet's block end,
// nn/fusion.h: bn_add_act); differentiable w.r.t. the residual too (its gradient is the masked gy).
// sums (training only; null or undefined tensors: none): x's per-channel sum and sum of squares,
// [C] each, computed by the convolution that produced x (nn::conv2d's `sums`); the batch statistics
// then come from them instead of two passes over x, but for channels where that one-pass formula
// would cancel, which take the two passes anyway (kernels/batchnorm.h: batch_norm_stats_from_sums,
// its error bound). They must be x's own: the backward treats the statistics as x's.
struct ChannelSums {
  Tensor sum, sqsum;
  bool defined() const { return sum.defined() && sqsum.defined(); }
};
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps, BnAct act = BnAct::none,
                  const Tensor& residual = Tensor(), const ChannelSums* sums = nullptr);

// x: [N, C, ...] (a [N, C] row or an NCHW map); every position x[b, :, s] normalized over its C
// values with the biased variance, then weight * xhat + bias: torch's LayerNorm(C) over the
// channels (ConvNeXt's LayerNorm2d; LayerNorm(C) itself for [N, C]). weight, bias: [C], or both
// undefined (elementwise_affine off). Differentiable w.r.t. x, weight and bias.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);

}  // namespace hemo::nn
