#include "nn/ops_conv.h"

#include <type_traits>

#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"
#include "kernels/depthwise_conv2d.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

Conv2dShape conv_shape(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                       Pair dilation, int64_t groups) {
  HEMO_CHECK(x.defined() && weight.defined(), "conv2d: input and weight are required");
  HEMO_CHECK(x.dim() == 4, "conv2d: expected an NCHW input [N, C, H, W], got ", x.str());
  HEMO_CHECK(weight.dim() == 4, "conv2d: expected a weight [out_channels, in_channels / groups, kH, kW], got ",
             weight.str());
  HEMO_CHECK(groups >= 1, "conv2d: groups must be positive, got ", groups);
  const int64_t c = x.size(1), k = weight.size(0);
  HEMO_CHECK(c % groups == 0 && k % groups == 0, "conv2d: groups=", groups, " must divide the input channels (", c,
             ") and the output channels (", k, ")");
  HEMO_CHECK(weight.size(1) * groups == c, "conv2d: input ", x.str(), " has ", c, " channels, but weight ",
             weight.str(), " with groups=", groups, " expects ", weight.size(1) * groups);
  HEMO_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == k), "conv2d: bias must be [", k, "], got ",
             bias.str());
  check_same_place("conv2d", {x, weight, bias});
  Conv2dShape s{x.size(0), c,           x.size(2),  x.size(3),  k,           weight.size(2), weight.size(3),
                stride[0], stride[1],   padding[0], padding[1], dilation[0], dilation[1],    groups};
  s.validate("conv2d");
  return s;
}
}  // namespace

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return conv2d_output_size(in, kernel, stride, pad, dilation);
}

Tensor conv2d(const Tensor& x, const Tensor& weight_any, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
              int64_t groups, ChannelSums* sums) {
  Conv2dShape s = conv_shape(x, weight_any, bias, stride, padding, dilation, groups);
  const Tensor weight = weight_any.contiguous();  // the kernels read [k, c / groups, r, s] in that order
  const bool depthwise = s.groups == s.c && s.k == s.c && s.dil_h == 1 && s.dil_w == 1;
  s.channels_last = x.is_channels_last();
  // x and y (and gx, gy) in x's memory format: the kernels read them in storage order.
  Tensor y = Tensor::empty({s.n, s.k, s.p(), s.q()}, x.dtype(), x.device(), x.memory_format());
  if (sums) *sums = ChannelSums();
  const bool want_sums = sums && !depthwise && s.groups == 1 && !bias.defined() && x.device().is_cuda();
  dispatch("conv2d", x, [&](auto backend, auto t) {
    using T = decltype(t);
    const T *xp = x.data_any_format<T>(), *wp = weight.data<T>();
    if constexpr (std::is_same_v<decltype(backend), cuda::Backend>) {
      if (want_sums) {
        ChannelSums out{Tensor::empty({s.k}, x.dtype(), x.device()), Tensor::empty({s.k}, x.dtype(), x.device())};
        // y is computed either way; the sums only where cuDNN's graph ran
        if (conv2d_fwd_stats(backend, s, xp, wp, y.data_any_format<T>(), out.sum.data<T>(), out.sqsum.data<T>()))
          *sums = std::move(out);
        return;
      }
    }
    if (depthwise)
      depthwise_conv2d_fwd(backend, s, xp, wp, ptr<T>(bias), y.data_any_format<T>());
    else
      conv2d_fwd(backend, s, xp, wp, ptr<T>(bias), y.data_any_format<T>());
  });
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  record(y, "conv2d", {x, weight, bias},
         [s, depthwise, need_x, need_w, need_b, x = x.detach(), weight = weight.detach()](
             const Tensor& gy) -> std::vector<Tensor> {
           Tensor gx = need_x ? Tensor::empty_like(x) : Tensor();
           Tensor gw = need_w ? Tensor::empty_like(weight) : Tensor();
           Tensor gb = need_b ? Tensor::empty({s.k}, gy.dtype(), gy.device()) : Tensor();
           HEMO_CHECK(gy.memory_format() == x.memory_format(), "internal: conv2d's gradient arrived ", gy.str(),
                      " for an input ", x.str());
           dispatch("conv2d", gy, [&](auto backend, auto t) {
             using T = decltype(t);
             const T* g = gy.data_any_format<T>();
             T* gxp = need_x ? gx.data_any_format<T>() : nullptr;
             if (need_x && depthwise) depthwise_conv2d_bwd_data(backend, s, g, weight.data<T>(), gxp);
             if (need_x && !depthwise) conv2d_bwd_data(backend, s, g, weight.data<T>(), gxp);
             if ((need_w || need_b) && depthwise)
               depthwise_conv2d_bwd_filter(backend, s, x.data_any_format<T>(), g, ptr<T>(gw), ptr<T>(gb));
             if ((need_w || need_b) && !depthwise)
               conv2d_bwd_filter(backend, s, x.data_any_format<T>(), g, ptr<T>(gw), ptr<T>(gb));
           });
           return {gx, gw, gb};
         });
  return y;
}

Tensor conv2d_fused(const Tensor& x, const Tensor& weight_any, const ConvEpilogueArgs& e, Pair stride, Pair padding,
                    Pair dilation, int64_t groups) {
  Conv2dShape s = conv_shape(x, weight_any, e.bias, stride, padding, dilation, groups);
  const bool records = grad_enabled() && (x.requires_grad() || weight_any.requires_grad() ||
                                          (e.bias.defined() && e.bias.requires_grad()) ||
                                          (e.bn_weight.defined() && e.bn_weight.requires_grad()) ||
                                          (e.bn_bias.defined() && e.bn_bias.requires_grad()) ||
                                          (e.residual.defined() && e.residual.requires_grad()));
  HEMO_CHECK(!records, "conv2d_fused: an input requires grad while gradients are recorded, and this op has no "
                       "backward (run it under a NoGradGuard, or run conv2d and the ops after it)");
  const bool bn = e.running_var.defined();
  HEMO_CHECK(!bn || e.running_mean.defined(), "conv2d_fused: running_var without running_mean");
  for (const Tensor* t : {&e.bn_weight, &e.bn_bias, &e.running_mean, &e.running_var})
    HEMO_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == s.k),
               "conv2d_fused: a batch norm tensor must be [", s.k, "], got ", t->str());
  check_same_place("conv2d_fused", {x, e.bn_weight, e.bn_bias, e.running_mean, e.running_var, e.residual});
  const Tensor weight = weight_any.contiguous();
  const bool depthwise = s.groups == s.c && s.k == s.c && s.dil_h == 1 && s.dil_w == 1;
  s.channels_last = x.is_channels_last();
  Tensor y = Tensor::empty({s.n, s.k, s.p(), s.q()}, x.dtype(), x.device(), x.memory_format());
  HEMO_CHECK(!e.residual.defined() ||
                 (e.residual.shape() == y.shape() && e.residual.memory_format() == y.memory_format()),
             "conv2d_fused: the residual ", e.residual.str(), " does not match the output ", y.str());
  dispatch("conv2d_fused", x, [&](auto backend, auto t) {
    using T = decltype(t);
    ConvEpilogue<T> ep{.bias = ptr<T>(e.bias),
                       .gamma = ptr<T>(e.bn_weight),
                       .beta = ptr<T>(e.bn_bias),
                       .running_mean = bn ? e.running_mean.data<T>() : nullptr,
                       .running_var = bn ? e.running_var.data<T>() : nullptr,
                       .eps = e.eps,
                       .r = e.residual.defined() ? e.residual.data_any_format<T>() : nullptr,
                       .act = e.act};
    const T *xp = x.data_any_format<T>(), *wp = weight.data<T>();
    T* yp = y.data_any_format<T>();
    if (!depthwise) return conv2d_fwd_fused(backend, s, xp, wp, ep, yp);
    depthwise_conv2d_fwd(backend, s, xp, wp, ep.bias, yp);
    ep.bias = nullptr;
    conv_epilogue(backend, {.n = s.n, .k = s.k, .pq = s.p() * s.q(), .channels_last = s.channels_last}, ep, yp);
  });
  return y;
}

}  // namespace hemo::nn
