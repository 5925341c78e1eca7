// The layers models are built from, each a Module wrapping one functional op, with PyTorch's
// parameter names, shapes and default initialization (so a fresh layer behaves like a fresh
// torch.nn layer, and a state_dict key maps name for name).
#pragma once
#include <array>

#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "nn/module.h"
#include "nn/ops_sync_norm.h"
#include "nn/pair.h"
#include "tensor/rng.h"

namespace hemo::nn {

// While a NoInitGuard is alive on this thread, Conv2d and Linear skip their random initialization
// and start at zero (and so do the model zoo's re-initializations): for a model whose weights are
// loaded right after it is built, or that is only inspected. Drawing VGG-16's 138M initial
// values costs seconds; zeroing them, milliseconds.
class NoInitGuard {
 public:
  NoInitGuard();
  ~NoInitGuard();
  NoInitGuard(const NoInitGuard&) = delete;
  NoInitGuard& operator=(const NoInitGuard&) = delete;

 private:
  bool previous_;
};
bool init_enabled();

class BatchNorm2d;
struct ChannelSums;  // nn/ops_norm.h

// weight [out, in/groups, kh, kw], optional bias [out]. Init: kaiming_uniform(a=sqrt(5)), bias
// uniform(+-1/sqrt(fan_in)), as torch.nn.Conv2d.
class Conv2d : public Module {
 public:
  struct Options {
    Pair kernel{3, 3}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
    int64_t groups = 1;
    bool bias = true;
  };
  Conv2d(int64_t in, int64_t out, Options o, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  // MACs per output element pair with the spatial size the layer produces (for `hemo info`).
  Pair output_size(Pair input) const;
  // Folds an eval-mode batch norm applied to this layer's output into weight and bias, so that
  // this layer alone computes bn(conv(x)). Per output channel k, with s_k = gamma_k /
  // sqrt(running_var_k + eps):  weight'_k = s_k weight_k,  bias'_k = s_k (bias_k - mean_k) + beta_k
  // (bias_k = 0 when the layer had none; it gets one, registered as "bias"). Computed in double,
  // stored in the weight's dtype and device; requires_grad as the weight's. The batch norm is
  // left as it was; removing it from the tree is the caller's business (models/inference.h).
  void fold_batchnorm(const BatchNorm2d& bn);
  Tensor weight, bias;
  int64_t in_channels, out_channels;
  Options opt;
};

// weight [out, in], bias [out]; torch.nn.Linear's init.
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor weight, bias;
  int64_t in_features, out_features;
  // true: an NCHW input is mapped at every position over its channels (torch's Linear between
  // two Permutes, as ConvNeXt's blocks use it: the same weight [out, in], run as a 1x1
  // convolution); [N, in] inputs are unaffected.
  bool over_channels = false;
};

// BatchNorm over channel dim 1 of [N, C, H, W] (or [N, C]). Parameters weight (ones) and bias
// (zeros); buffers running_mean (zeros), running_var (ones), num_batches_tracked (a float32
// count). momentum and eps per layer, as torchvision sets them per model. With `sync` set (hemo
// train --sync-bn), training mode normalizes with the statistics of every rank's batch
// (nn/ops_sync_norm.h).
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override { return forward_act(x, BnAct::none); }
  // act(bn(x)) as one op (nn/fusion.h); with `residual` defined, act(bn(x) + residual)
  // (nn::batch_norm's residual: ResNet's block end, nn::bn_add_act). An activation or a residual
  // with `sync` set is an Error (the synchronized path has no fused form: nn/fusion.h never asks).
  // sums (training only, may be null): x's channel sums from the convolution that produced it
  // (nn/ops_norm.h: ChannelSums; nn::conv_bn_act passes them); the synchronized path ignores them.
  Tensor forward_act(const Tensor& x, BnAct act, const Tensor& residual = Tensor(),
                     const ChannelSums* sums = nullptr);
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  int64_t channels;
  double eps, momentum;
  HostAllReduce sync;  // empty: statistics of this process's batch only

 private:
  Tensor one_;  // 1, on num_batches_tracked's device: the count is advanced there, with no host round trip
};

// torch.nn.LayerNorm(channels) over dimension 1 (nn::layer_norm): of [N, C] rows, or of each
// position of an NCHW map (torchvision's LayerNorm2d, and ConvNeXt's Permute -> LayerNorm ->
// Permute). weight = 1, bias = 0 at construction, as torch.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t channels, double eps = 1e-5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  Tensor weight, bias;
  int64_t channels;
  double eps;
};

class Act : public Module {  // ReLU, ReLU6, Hardswish, Hardsigmoid, Sigmoid
 public:
  explicit Act(Activation a) : kind(a) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override;
  Activation kind;
};

class MaxPool2d : public Module {
 public:
  MaxPool2d(Pair kernel_, Pair stride_, Pair padding_ = {0, 0}, bool ceil_mode_ = false)
      : kernel(kernel_), stride(stride_), padding(padding_), ceil_mode(ceil_mode_) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  Pair kernel, stride, padding;
  bool ceil_mode;
};

// Average pooling counting the padding, as torch.nn.AvgPool2d's defaults (DenseNet's transitions).
class AvgPool2d : public Module {
 public:
  // Zero padding counts in the divisor (torch's count_include_pad=True, its default).
  AvgPool2d(Pair kernel_, Pair stride_, Pair padding_ = {0, 0}) : kernel(kernel_), stride(stride_), padding(padding_) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  Pair kernel, stride, padding;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Pair output_) : output(output_) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  Pair output;
};

// Zeroes each element with probability p while training (mask from `gen`), scaling by 1/(1-p).
class Dropout : public Module {
 public:
  explicit Dropout(double p_ = 0.5, Generator& gen_ = default_generator()) : p(p_), gen(&gen_) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;
  Generator* gen;
};

// Stochastic depth ("drop path", torchvision.ops.StochasticDepth in mode "row"): in training,
// each sample's whole input is zeroed with probability p and otherwise scaled by 1 / (1 - p); the
// identity in eval mode or for p = 0. The per-sample draws are a dropout mask over [N] (nn::dropout:
// Philox, from `gen`, default_generator() as every Dropout, whose state a checkpoint keeps).
class StochasticDepth : public Module {
 public:
  explicit StochasticDepth(double p_, Generator& gen_ = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "StochasticDepth"; }
  std::string extra_repr() const override;
  double p;
  Generator* gen;
};

class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x.flatten(1); }
  std::string type_name() const override { return "Flatten"; }
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

// Shorthands for building trees.
template <class M, class... Args>
std::shared_ptr<M> make(Args&&... args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

}  // namespace hemo::nn
