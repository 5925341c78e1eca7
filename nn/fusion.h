// Module fusion: a BatchNorm2d followed by a ReLU or ReLU6 runs as one op, nn::batch_norm with the
// activation fused (kernels/batchnorm.h): one pass over memory in the forward, the mask read from
// the output in the backward, and no intermediate map kept. Outputs, gradients and running
// statistics are bit for bit those of the two modules run in turn, so fusion is a speed switch.
//
// Where it applies: Sequential::forward fuses such adjacent children (torchvision's
// Conv2dNormActivation in MobileNet, EfficientNet, ...), and model code calls bn_act for a pair it
// runs by hand (ResNet's conv -> bn -> relu), and bn_add_act for a batch norm whose output is
// added to a shortcut before the activation (the end of ResNet's BasicBlock and Bottleneck,
// relu(bn(x) + shortcut): one pass instead of three, no intermediate map). A pair is fused when fusion is on, `bn` is a
// BatchNorm2d without cross-process synchronization (nn::sync_batch_norm runs unfused), `act` an
// Act of kind relu or relu6, and neither module has forward hooks (Grad-CAM's target keeps its own
// output). The module observer (`hemo profile`, anomaly detection) sees a fused pair as `bn`'s
// forward; `act` is not entered.
#pragma once
#include "kernels/activation.h"
#include "nn/module.h"

namespace hemo::nn {

// Convolution fusion, for forwards that record no gradient (evaluation, prediction, hemo-infer):
// a Conv2d followed by its batch norm and activation, and the residual added before that
// activation, run as one nn::conv2d_fused (kernels/conv_epilogue.h): on the CPU each chunk's
// epilogue while its output is in cache, on CUDA one cuDNN graph where an engine takes it. `bn` is
// a BatchNorm2d in eval mode with running statistics, an Identity (a batch norm that
// models/inference.h folded into the convolution's bias), or absent; `act` an Act of kind relu
// or relu6, or absent. The pair or triple is fused when fusion is on, no module of it has forward
// hooks, and nothing would be recorded (grad_enabled() is false, or neither x, the residual nor a
// parameter of the modules requires grad); else it runs as before this fusion (the bn_* functions
// below). On the CPU the result is the same bits either way. The observer sees conv's forward.
// Sequential::forward fuses Conv2d, [BatchNorm2d or Identity], [Act] runs of children; model
// code calls the conv_* functions for what it runs by hand (ResNet's blocks, MobileNetV2's
// inverted residual, GoogLeNet's BasicConv2d).
bool conv_fusable(const Module& conv, const Module* bn, const Module* act, const Tensor& x,
                  const Tensor& residual = Tensor());
Tensor conv_bn_act(Module& conv, Module& bn, Module& act, const Tensor& x);
Tensor conv_bn_act(Module& conv, Module& bn, Activation act, const Tensor& x);  // act as a function
Tensor conv_bn_add_act(Module& conv, Module& bn, Module& act, const Tensor& x, const Tensor& residual);
Tensor conv_bn_add(Module& conv, Module& bn, const Tensor& x, const Tensor& residual);
// conv(x) for child `i` of a Sequential, with the children after it that fuse (nn/module.cpp):
// how many children it consumed (1 to 3) and their output; 0 when child i does not start a run.
size_t conv_run(Sequential& seq, size_t i, size_t to, const Tensor& x, Tensor& y);
// How many convolutions have run fused in this process (for tests and `hemo bench infer`).
uint64_t fused_convolutions();

// Training on CUDA: the same calls (conv_bn_act, conv_bn_add_act, conv_bn_add, and Sequential's
// runs of Conv2d, BatchNorm2d, [Act]), with a BatchNorm2d in training mode, run the convolution
// as one cuDNN graph that also sums its output per channel (genstats; nn::conv2d's `sums`), and the
// batch norm takes its statistics from those sums instead of two passes over the output
// (kernels/batchnorm.h: batch_norm_stats_from_sums, its error bound), then normalizes, activates
// and adds as bn_act and bn_add_act do. Applies when fusion is on, x is on CUDA, the convolution
// is ungrouped, without bias or hooks, and the batch norm fusable as below; the sums come only
// where cuDNN's engine takes the graph (tensor cores allowed: kernels/cuda/conv_cudnn.h); else the
// batch norm computes its statistics as before, on the same convolution output. Gradients flow as
// without it: the backward is the convolution's and the batch norm's own. The observer sees both
// modules. How many convolutions have handed their sums on in this process:
uint64_t summed_convolutions();

// Process-wide switch, on by default; `--no-fusion` on `hemo train`, `bench train`, `bench op`
// and `profile` turns it off to compare. It sets every fused or specialized path: the fusion above
// and the specialized depthwise kernels, CPU and CUDA (kernels/depthwise_conv2d.h:
// set_depthwise_specialized), whose forward and input gradient are the same bits as the generic
// kernels' and whose weight gradient is rounded differently.
void set_fusion_enabled(bool on);
bool fusion_enabled();

// Whether bn_act(bn, act, x) runs one fused op.
bool fusable(const Module& bn, const Module& act);

// act(bn(x)): fused when fusable, else through the two modules' operator().
Tensor bn_act(Module& bn, Module& act, const Tensor& x);
// nn::activation(act, bn(x)) for model code that applies the activation as a function
// (GoogLeNet's and Inception's BasicConv2d): fused on the same conditions, for relu and relu6.
Tensor bn_act(Module& bn, Activation act, const Tensor& x);

// act(nn::add(bn(x), residual)): one op (nn::batch_norm with the residual) when fusable(bn, act),
// bit for bit the three in turn; else through the two modules' operator() and nn::add. The
// residual's gradient flows as add's backward gives it. The observer sees bn's forward, as bn_act.
Tensor bn_add_act(Module& bn, Module& act, const Tensor& x, const Tensor& residual);

// nn::add(bn(x), residual) as one op (nn::batch_norm with the residual and no activation: the end
// of MobileNetV2's inverted residual) when fusion is on and `bn` is fusable as above; else bn's
// operator() and nn::add. Bit for bit either way (float addition commutes, so add(residual, bn(x))
// too). The observer sees bn's forward.
Tensor bn_add(Module& bn, const Tensor& x, const Tensor& residual);

}  // namespace hemo::nn
