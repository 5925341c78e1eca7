#include "nn/layers.h"

#include <algorithm>
#include <cmath>

#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/ops_activation.h"
#include "nn/ops_conv.h"
#include "nn/ops_linear.h"
#include "nn/ops_dropout.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_norm.h"
#include "nn/ops_pool.h"
#include "nn/ops_sync_norm.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
thread_local bool g_init_enabled = true;
}  // namespace

NoInitGuard::NoInitGuard() : previous_(g_init_enabled) { g_init_enabled = false; }
NoInitGuard::~NoInitGuard() { g_init_enabled = previous_; }
bool init_enabled() { return g_init_enabled; }

namespace {
std::string pair_str(Pair p) { return p[0] == p[1] ? std::to_string(p[0]) : cat("(", p[0], ", ", p[1], ")"); }

// torch.nn's reset_parameters for Conv and Linear: weight kaiming_uniform(a=sqrt(5)), i.e.
// uniform(+-1/sqrt(fan_in)), and bias uniform(+-1/sqrt(fan_in)).
void torch_default_init(Tensor& w, Tensor& b, Generator& gen) {
  if (!init_enabled()) {
    constant_(w, 0);
    if (b.defined()) constant_(b, 0);
    return;
  }
  kaiming_uniform_(w, gen, std::sqrt(5.0));
  if (b.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(fan_in_fan_out(w.shape()).first));
    uniform_(b, gen, -bound, bound);
  }
}
}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Options o, Generator& gen) : in_channels(in), out_channels(out), opt(o) {
  HEMO_CHECK(in > 0 && out > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, "Conv2d(", in, ", ", out,
             ", groups=", o.groups, "): channels must be positive multiples of groups");
  weight = Tensor::empty({out, in / o.groups, o.kernel[0], o.kernel[1]});
  if (o.bias) bias = Tensor::empty({out});
  torch_default_init(weight, bias, gen);
  register_parameter("weight", &weight);
  if (o.bias) register_parameter("bias", &bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, opt.stride, opt.padding, opt.dilation, opt.groups);
}

Pair Conv2d::output_size(Pair in) const {
  Pair out;
  for (size_t i = 0; i < 2; ++i)
    out[i] = (in[i] + 2 * opt.padding[i] - opt.dilation[i] * (opt.kernel[i] - 1) - 1) / opt.stride[i] + 1;
  return out;
}

void Conv2d::fold_batchnorm(const BatchNorm2d& bn) {
  HEMO_CHECK(bn.channels == out_channels, "Conv2d.fold_batchnorm: the batch norm has ", bn.channels,
             " channels, the convolution ", out_channels, " outputs");
  const std::vector<double> gamma = bn.weight.detach().to_vector<double>(), beta = bn.bias.detach().to_vector<double>(),
                            mean = bn.running_mean.detach().to_vector<double>(),
                            var = bn.running_var.detach().to_vector<double>();
  std::vector<double> w = weight.detach().to_vector<double>();
  std::vector<double> b = bias.defined() ? bias.detach().to_vector<double>() : std::vector<double>(gamma.size(), 0.0);
  const size_t per_channel = w.size() / gamma.size();
  for (size_t k = 0; k < gamma.size(); ++k) {
    const double s = gamma[k] / std::sqrt(var[k] + bn.eps);
    for (size_t i = k * per_channel; i < (k + 1) * per_channel; ++i) w[i] *= s;
    b[k] = s * (b[k] - mean[k]) + beta[k];
  }
  const bool grad = weight.requires_grad();
  const DType dtype = weight.dtype();
  const Device device = weight.device();
  weight = Tensor::from_vector(w, weight.shape()).to(dtype).to(device);
  weight.requires_grad_(grad);
  const bool had_bias = bias.defined();
  bias = Tensor::from_vector(b, {out_channels}).to(dtype).to(device);
  bias.requires_grad_(grad);
  if (!had_bias) {
    opt.bias = true;
    register_parameter("bias", &bias, grad);
  }
}

std::string Conv2d::extra_repr() const {
  std::string s = cat(in_channels, ", ", out_channels, ", kernel_size=", pair_str(opt.kernel), ", stride=", pair_str(opt.stride));
  if (opt.padding != Pair{0, 0}) s += cat(", padding=", pair_str(opt.padding));
  if (opt.dilation != Pair{1, 1}) s += cat(", dilation=", pair_str(opt.dilation));
  if (opt.groups != 1) s += cat(", groups=", opt.groups);
  if (!opt.bias) s += ", bias=False";
  return s;
}

Linear::Linear(int64_t in, int64_t out, bool has_bias, Generator& gen) : in_features(in), out_features(out) {
  HEMO_CHECK(in > 0 && out > 0, "Linear(", in, ", ", out, "): sizes must be positive");
  weight = Tensor::empty({out, in});
  if (has_bias) bias = Tensor::empty({out});
  torch_default_init(weight, bias, gen);
  register_parameter("weight", &weight);
  if (has_bias) register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) {
  if (over_channels && x.dim() == 4) {
    HEMO_CHECK(x.size(1) == in_features, "Linear(", in_features, ", ", out_features, ") over channels: expected [N, ",
               in_features, ", H, W] input, got ", x.str());
    return conv2d(x, weight.reshape({out_features, in_features, 1, 1}), bias);
  }
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return cat("in_features=", in_features, ", out_features=", out_features, ", bias=", bias.defined() ? "True" : "False");
}

BatchNorm2d::BatchNorm2d(int64_t c, double e, double m) : channels(c), eps(e), momentum(m) {
  weight = Tensor::ones({c});
  bias = Tensor::zeros({c});
  running_mean = Tensor::zeros({c});
  running_var = Tensor::ones({c});
  num_batches_tracked = Tensor::zeros({});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
  register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward_act(const Tensor& x, BnAct act, const Tensor& residual, const ChannelSums* sums) {
  HEMO_CHECK(!(sync && is_training()) || (act == BnAct::none && !residual.defined()),
             "BatchNorm2d: synchronized batch norm has no fused ", residual.defined() ? "add + " : "",
             bn_act_name(act));
  if (is_training() && recomputing()) {  // nn::checkpoint's second forward: the statistics were counted once
    Tensor no_mean, no_var;
    if (sync) return sync_batch_norm(x, weight, bias, no_mean, no_var, momentum, eps, sync);
    return batch_norm(x, weight, bias, no_mean, no_var, true, momentum, eps, act, residual, sums);
  }
  if (is_training()) {  // as torch: counted in training mode, with or without grad recording
    if (!one_.defined() || one_.device() != num_batches_tracked.device())
      one_ = Tensor::ones({}, num_batches_tracked.dtype(), num_batches_tracked.device());
    accumulate_(num_batches_tracked, one_);
  }
  if (is_training() && sync) return sync_batch_norm(x, weight, bias, running_mean, running_var, momentum, eps, sync);
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps, act, residual,
                    is_training() ? sums : nullptr);
}

std::string BatchNorm2d::extra_repr() const { return cat(channels, ", eps=", eps, ", momentum=", momentum); }

LayerNorm::LayerNorm(int64_t c, double e) : channels(c), eps(e) {
  weight = Tensor::ones({c});
  bias = Tensor::zeros({c});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  HEMO_CHECK(x.dim() >= 2 && x.size(1) == channels, "LayerNorm(", channels, "): expected [N, ", channels,
             ", ...] input, got ", x.str());
  return layer_norm(x, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const { return cat("(", channels, ",), eps=", eps, ", elementwise_affine=True"); }

StochasticDepth::StochasticDepth(double p_, Generator& gen_) : p(p_), gen(&gen_) {
  HEMO_CHECK(p >= 0 && p <= 1, "StochasticDepth: p must lie in [0, 1], got ", p);
}

Tensor StochasticDepth::forward(const Tensor& x) {
  if (!is_training() || p == 0) return x;
  HEMO_CHECK(x.dim() == 2 || x.dim() == 4, "StochasticDepth: expected an [N, C] or [N, C, H, W] input, got ", x.str());
  const int64_t n = x.size(0), c = x.size(1);
  // One keep-or-drop factor per sample (0 or 1 / (1 - p)), spread over its channels for the
  // channel-broadcast multiply (nn::mul), which also spreads it over the positions.
  const std::vector<float> keep = dropout(Tensor::ones({n}), p, true, *gen).to_vector<float>();
  std::vector<float> factors(static_cast<size_t>(n * c));
  for (int64_t i = 0; i < n; ++i)
    std::fill_n(factors.begin() + i * c, c, keep[static_cast<size_t>(i)]);
  const Tensor f =
      Tensor::from_vector<float>(factors, x.dim() == 2 ? Shape{n, c} : Shape{n, c, 1, 1}).to(x.dtype()).to(x.device());
  return mul(x, f);
}

std::string StochasticDepth::extra_repr() const { return cat("p=", p, ", mode=row"); }

Tensor Act::forward(const Tensor& x) { return activation(kind, x); }

std::string Act::type_name() const {
  switch (kind) {
    case Activation::relu: return "ReLU";
    case Activation::relu6: return "ReLU6";
    case Activation::hardsigmoid: return "Hardsigmoid";
    case Activation::hardswish: return "Hardswish";
    case Activation::sigmoid: return "Sigmoid";
    case Activation::silu: return "SiLU";
    case Activation::gelu: return "GELU";
  }
  return "Activation";
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel, stride, padding, ceil_mode); }

std::string MaxPool2d::extra_repr() const {
  return cat("kernel_size=", pair_str(kernel), ", stride=", pair_str(stride), ", padding=", pair_str(padding),
             ceil_mode ? ", ceil_mode=True" : "");
}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel, stride, padding, false, true); }

std::string AvgPool2d::extra_repr() const {
  return cat("kernel_size=", pair_str(kernel), ", stride=", pair_str(stride), ", padding=", pair_str(padding));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output); }

std::string AdaptiveAvgPool2d::extra_repr() const { return cat("output_size=", pair_str(output)); }

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), *gen); }

std::string Dropout::extra_repr() const { return cat("p=", p); }

}  // namespace hemo::nn
