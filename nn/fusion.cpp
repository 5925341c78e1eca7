#include "nn/fusion.h"

#include <atomic>
#include <optional>
#include <type_traits>

#include "kernels/depthwise_conv2d.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_conv.h"
#include "nn/ops_elementwise.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
std::atomic<bool> g_fusion{true};
std::atomic<uint64_t> g_fused_convolutions{0}, g_summed_convolutions{0};

std::optional<BnAct> fused_kind(Activation a) {
  if (a == Activation::relu) return BnAct::relu;
  if (a == Activation::relu6) return BnAct::relu6;
  return std::nullopt;
}

std::optional<BnAct> fusable_act(const Module& m) {
  const auto* act = dynamic_cast<const Act*>(&m);
  if (!act || act->has_forward_hooks()) return std::nullopt;
  return fused_kind(act->kind);
}

template <class M>  // Module or const Module
auto* fusable_bn(M& m) {
  auto* bn = dynamic_cast<std::conditional_t<std::is_const_v<M>, const BatchNorm2d, BatchNorm2d>*>(&m);
  return bn && !bn->sync && !bn->has_forward_hooks() ? bn : nullptr;
}

bool needs_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

// The module in a batch norm's place: an eval BatchNorm2d with running statistics, or an Identity.
bool fusable_norm(const Module& m) {
  if (m.has_forward_hooks()) return false;
  if (dynamic_cast<const Identity*>(&m)) return true;
  const auto* bn = dynamic_cast<const BatchNorm2d*>(&m);
  return bn && !bn->is_training() && bn->running_var.defined() && bn->running_mean.defined();
}

// conv2d_fused of the checked modules: bn may be null or an Identity, kind the activation.
Tensor fused_conv(Conv2d& conv, Module* bn, BnAct kind, const Tensor& x, const Tensor& residual) {
  ConvEpilogueArgs e;
  e.bias = conv.bias;
  e.residual = residual;
  e.act = kind;
  if (auto* norm = bn ? dynamic_cast<BatchNorm2d*>(bn) : nullptr) {
    e.bn_weight = norm->weight;
    e.bn_bias = norm->bias;
    e.running_mean = norm->running_mean;
    e.running_var = norm->running_var;
    e.eps = norm->eps;
  }
  ++g_fused_convolutions;
  return conv.run_as_forward(x, [&](const Tensor& in) {
    return conv2d_fused(in, conv.weight, e, conv.opt.stride, conv.opt.padding, conv.opt.dilation, conv.opt.groups);
  });
}
// The training batch norm that takes its statistics from the convolution before it (nn/fusion.h):
// CUDA, fusion on, an ungrouped Conv2d without bias or hooks, a fusable BatchNorm2d in training.
BatchNorm2d* summing_bn(const Module& conv, Module& bn, const Tensor& x) {
  const auto* c = dynamic_cast<const Conv2d*>(&conv);
  BatchNorm2d* norm = fusable_bn(bn);
  const bool ok = fusion_enabled() && c && !c->has_forward_hooks() && !c->bias.defined() && c->opt.groups == 1 &&
                  norm && norm->is_training() && x.defined() && x.is_cuda();
  return ok ? norm : nullptr;
}

// act(norm(conv(x)) (+ residual)), the batch statistics from the convolution's graph when cuDNN
// ran it (else norm computes them). The observer sees both modules' forwards.
[[gnu::noinline]] Tensor conv_sums_bn(Conv2d& conv, BatchNorm2d& norm, BnAct kind, const Tensor& x,
                                      const Tensor& residual) {
  ChannelSums sums;
  const Tensor y = conv.run_as_forward(x, [&](const Tensor& in) {
    const Conv2d::Options& o = conv.opt;
    return conv2d(in, conv.weight, conv.bias, o.stride, o.padding, o.dilation, o.groups, &sums);
  });
  if (sums.defined()) ++g_summed_convolutions;
  return norm.run_as_forward(y, [&](const Tensor& in) { return norm.forward_act(in, kind, residual, &sums); });
}
}  // namespace

bool conv_fusable(const Module& conv, const Module* bn, const Module* act, const Tensor& x, const Tensor& residual) {
  const auto* c = dynamic_cast<const Conv2d*>(&conv);
  if (!fusion_enabled() || !c || c->has_forward_hooks() || !x.defined() || x.dim() != 4) return false;
  if (bn && !fusable_norm(*bn)) return false;
  if (act && !fusable_act(*act)) return false;
  if (residual.defined() && residual.memory_format() != x.memory_format()) return false;
  if (!grad_enabled()) return true;
  const auto* norm = bn ? dynamic_cast<const BatchNorm2d*>(bn) : nullptr;
  return !(needs_grad(x) || needs_grad(residual) || needs_grad(c->weight) || needs_grad(c->bias) ||
           (norm && (needs_grad(norm->weight) || needs_grad(norm->bias))));
}

Tensor conv_bn_act(Module& conv, Module& bn, Module& act, const Tensor& x) {
  if (conv_fusable(conv, &bn, &act, x)) return fused_conv(dynamic_cast<Conv2d&>(conv), &bn, *fusable_act(act), x, {});
  if (BatchNorm2d* norm = summing_bn(conv, bn, x)) {
    const std::optional<BnAct> kind = fusable_act(act);
    const Tensor y = conv_sums_bn(dynamic_cast<Conv2d&>(conv), *norm, kind.value_or(BnAct::none), x, Tensor());
    return kind ? y : act(y);
  }
  return bn_act(bn, act, conv(x));
}

Tensor conv_bn_act(Module& conv, Module& bn, Activation act, const Tensor& x) {
  const std::optional<BnAct> kind = fused_kind(act);
  if (kind && conv_fusable(conv, &bn, nullptr, x)) return fused_conv(dynamic_cast<Conv2d&>(conv), &bn, *kind, x, {});
  if (BatchNorm2d* norm = summing_bn(conv, bn, x)) {
    const Tensor y = conv_sums_bn(dynamic_cast<Conv2d&>(conv), *norm, kind.value_or(BnAct::none), x, Tensor());
    return kind ? y : activation(act, y);
  }
  return bn_act(bn, act, conv(x));
}

Tensor conv_bn_add_act(Module& conv, Module& bn, Module& act, const Tensor& x, const Tensor& residual) {
  if (conv_fusable(conv, &bn, &act, x, residual))
    return fused_conv(dynamic_cast<Conv2d&>(conv), &bn, *fusable_act(act), x, residual);
  BatchNorm2d* norm = summing_bn(conv, bn, x);
  const std::optional<BnAct> kind = fusable_act(act);
  if (norm && kind) return conv_sums_bn(dynamic_cast<Conv2d&>(conv), *norm, *kind, x, residual);
  return bn_add_act(bn, act, conv(x), residual);
}

Tensor conv_bn_add(Module& conv, Module& bn, const Tensor& x, const Tensor& residual) {
  if (conv_fusable(conv, &bn, nullptr, x, residual))
    return fused_conv(dynamic_cast<Conv2d&>(conv), &bn, BnAct::none, x, residual);
  if (BatchNorm2d* norm = summing_bn(conv, bn, x))
    return conv_sums_bn(dynamic_cast<Conv2d&>(conv), *norm, BnAct::none, x, residual);
  return bn_add(bn, conv(x), residual);
}

size_t conv_run(Sequential& seq, size_t i, size_t to, const Tensor& x, Tensor& y) {
  if (!fusion_enabled() || !dynamic_cast<Conv2d*>(seq[i].get())) return 0;
  if (BatchNorm2d* norm = i + 1 < to ? summing_bn(*seq[i], *seq[i + 1], x) : nullptr) {  // training
    const std::optional<BnAct> kind = i + 2 < to ? fusable_act(*seq[i + 2]) : std::nullopt;
    y = conv_sums_bn(dynamic_cast<Conv2d&>(*seq[i]), *norm, kind.value_or(BnAct::none), x, Tensor());
    return kind ? 3 : 2;
  }
  size_t j = i + 1;
  Module* bn = j < to && fusable_norm(*seq[j]) ? seq[j++].get() : nullptr;
  Module* act = j < to && fusable_act(*seq[j]) ? seq[j++].get() : nullptr;
  const bool real_bn = bn && dynamic_cast<BatchNorm2d*>(bn);
  if ((!real_bn && !act) || !conv_fusable(*seq[i], bn, act, x)) return 0;
  y = fused_conv(dynamic_cast<Conv2d&>(*seq[i]), bn, act ? *fusable_act(*act) : BnAct::none, x, Tensor());
  return j - i;
}

uint64_t fused_convolutions() { return g_fused_convolutions; }
uint64_t summed_convolutions() { return g_summed_convolutions; }

void set_fusion_enabled(bool on) {
  g_fusion = on;
  set_depthwise_specialized(on);
}
bool fusion_enabled() { return g_fusion; }

bool fusable(const Module& bn, const Module& act) {
  return fusion_enabled() && fusable_bn(bn) && fusable_act(act);
}

Tensor bn_act(Module& bn, Module& act, const Tensor& x) {
  if (!fusable(bn, act)) return act(bn(x));
  BatchNorm2d& norm = *fusable_bn(bn);
  const BnAct kind = *fusable_act(act);
  return norm.run_as_forward(x, [&norm, kind](const Tensor& in) { return norm.forward_act(in, kind); });
}

Tensor bn_add_act(Module& bn, Module& act, const Tensor& x, const Tensor& residual) {
  if (!fusable(bn, act)) return act(add(bn(x), residual));
  BatchNorm2d& norm = *fusable_bn(bn);
  const BnAct kind = *fusable_act(act);
  return norm.run_as_forward(
      x, [&norm, kind, &residual](const Tensor& in) { return norm.forward_act(in, kind, residual); });
}

Tensor bn_add(Module& bn, const Tensor& x, const Tensor& residual) {
  BatchNorm2d* norm = fusion_enabled() ? fusable_bn(bn) : nullptr;
  if (!norm) return add(bn(x), residual);
  return norm->run_as_forward(
      x, [norm, &residual](const Tensor& in) { return norm->forward_act(in, BnAct::none, residual); });
}

Tensor bn_act(Module& bn, Activation act, const Tensor& x) {
  BatchNorm2d* norm = fusion_enabled() ? fusable_bn(bn) : nullptr;
  const std::optional<BnAct> kind = fused_kind(act);
  if (!norm || !kind) return activation(act, bn(x));
  return norm->run_as_forward(x, [norm, k = *kind](const Tensor& in) { return norm->forward_act(in, k); });
}

}  // namespace hemo::nn
