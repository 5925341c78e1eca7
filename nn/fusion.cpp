#include "nn/fusion.h"

#include <atomic>
#include <optional>
#include <type_traits>

#include "kernels/depthwise_conv2d.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_elementwise.h"

namespace hemo::nn {

namespace {
std::atomic<bool> g_fusion{true};

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
}  // namespace

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
