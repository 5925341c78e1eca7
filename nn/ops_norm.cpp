#include "nn/ops_norm.h"

#include "kernels/batchnorm.h"
#include "kernels/layernorm.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* any_ptr(const Tensor& t) { return t.defined() ? t.data_any_format<T>() : nullptr; }

Tensor empty_if(bool wanted, const Tensor& like) { return wanted ? Tensor::empty_like(like) : Tensor(); }

void check_channel_tensor(const Tensor& t, int64_t c, const char* what, const char* op = "batch_norm") {
  if (!t.defined()) return;
  HEMO_CHECK(t.dim() == 1 && t.size(0) == c, op, ": ", what, " must be [", c, "], got ", t.str());
}
}  // namespace

namespace {
const char* batch_norm_op(BnAct act, bool residual) {
  switch (act) {
    case BnAct::none: return residual ? "batch_norm_add" : "batch_norm";
    case BnAct::relu: return residual ? "batch_norm_add_relu" : "batch_norm_relu";
    case BnAct::relu6: return residual ? "batch_norm_add_relu6" : "batch_norm_relu6";
  }
  return "batch_norm";
}

// The op's differentiable inputs: x, weight, bias, and the residual when there is one.
std::vector<Tensor> bn_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& r) {
  if (!r.defined()) return {x, weight, bias};
  return {x, weight, bias, r};
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps, BnAct act, const Tensor& residual,
                  const ChannelSums* sums) {
  HEMO_CHECK(x.dim() >= 2, "batch_norm: expected [N, C, ...] input, got ", x.str());
  check_same_place("batch_norm", {x, weight, bias, running_mean, running_var, residual});
  HEMO_CHECK(!residual.defined() || residual.shape() == x.shape(), "batch_norm: the residual ", residual.str(),
             " must have the input's shape ", x.str());
  const int64_t n = x.size(0), c = x.size(1), hw = n * c > 0 ? x.numel() / (n * c) : 0;
  HEMO_CHECK(weight.defined() == bias.defined(), "batch_norm: give both weight and bias, or neither");
  HEMO_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: give both running_mean and running_var, or neither");
  check_channel_tensor(weight, c, "weight");
  check_channel_tensor(bias, c, "bias");
  check_channel_tensor(running_mean, c, "running_mean");
  check_channel_tensor(running_var, c, "running_var");
  HEMO_CHECK(eps > 0, "batch_norm: eps must be positive, got ", eps);
  // Channels-last storage is a [N H W, C] matrix: the same statistics with each pixel a batch entry.
  const int64_t rows = x.is_channels_last() ? n * hw : n, inner = x.is_channels_last() ? 1 : hw;
  Tensor y = Tensor::empty_like(x);
  // The residual in x's memory format, as nn::add takes its second operand (a copy only where they differ).
  const Tensor r = residual.defined() ? residual.to(x.memory_format()) : Tensor();
  const char* op = batch_norm_op(act, r.defined());
  const bool with_r = r.defined(), r_grad = with_r && r.requires_grad();  // the backward needs no more of r
  // The fused backward reads the mask from the output (an empty Tensor when there is no activation).
  const Tensor out = act == BnAct::none ? Tensor() : y.detach();

  if (training) {
    HEMO_CHECK(n * hw > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
               x.str());
    const bool summed = sums && sums->defined();
    if (summed) {
      check_channel_tensor(sums->sum, c, "sum");
      check_channel_tensor(sums->sqsum, c, "sqsum");
      check_same_place("batch_norm", {x, sums->sum, sums->sqsum});
    }
    Tensor mean = Tensor::empty({c}, x.dtype(), x.device()), invstd = Tensor::empty({c}, x.dtype(), x.device());
    dispatch(op, x, [&](auto backend, auto t) {
      using T = decltype(t);
      batch_norm_train_fwd(backend, BatchNormTrainFwd<T>{.shape = {rows, c, inner},
                                                         .momentum = momentum,
                                                         .eps = eps,
                                                         .act = act,
                                                         .x = x.data_any_format<T>(),
                                                         .gamma = ptr<T>(weight),
                                                         .beta = ptr<T>(bias),
                                                         .running_mean = ptr<T>(running_mean),
                                                         .running_var = ptr<T>(running_var),
                                                         .r = any_ptr<T>(r),
                                                         .y = y.data_any_format<T>(),
                                                         .save_mean = mean.data<T>(),
                                                         .save_invstd = invstd.data<T>(),
                                                         .sum = summed ? sums->sum.data<T>() : nullptr,
                                                         .sqsum = summed ? sums->sqsum.data<T>() : nullptr});
    });
    record(y, op, bn_inputs(x, weight, bias, r),
           [op, act, rows, c, inner, x, weight, bias, with_r, r_grad, mean, invstd,
            out](const Tensor& gy) -> std::vector<Tensor> {
             Tensor gx = empty_if(x.requires_grad(), x), gw = empty_if(weight.defined() && weight.requires_grad(), weight),
                    gb = empty_if(bias.defined() && bias.requires_grad(), bias),
                    gr = empty_if(r_grad, x);
             dispatch(op, gy, [&](auto backend, auto t) {
               using T = decltype(t);
               batch_norm_train_bwd(backend, BatchNormTrainBwd<T>{.shape = {rows, c, inner},
                                                                  .act = act,
                                                                  .x = x.data_any_format<T>(),
                                                                  .y = any_ptr<T>(out),
                                                                  .gy = gy.data_any_format<T>(),
                                                                  .gamma = ptr<T>(weight),
                                                                  .save_mean = mean.data<T>(),
                                                                  .save_invstd = invstd.data<T>(),
                                                                  .gx = any_ptr<T>(gx),
                                                                  .ggamma = ptr<T>(gw),
                                                                  .gbeta = ptr<T>(gb),
                                                                  .gr = any_ptr<T>(gr)});
             });
             if (with_r) return {gx, gw, gb, gr};
             return {gx, gw, gb};
           });
    return y;
  }

  HEMO_CHECK(running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var");
  dispatch(op, x, [&](auto backend, auto t) {
    using T = decltype(t);
    batch_norm_eval_fwd(backend, BatchNormEvalFwd<T>{.shape = {rows, c, inner},
                                                     .eps = eps,
                                                     .act = act,
                                                     .x = x.data_any_format<T>(),
                                                     .gamma = ptr<T>(weight),
                                                     .beta = ptr<T>(bias),
                                                     .running_mean = running_mean.data<T>(),
                                                     .running_var = running_var.data<T>(),
                                                     .r = any_ptr<T>(r),
                                                     .y = y.data_any_format<T>()});
  });
  if (!needs_grad({x, weight, bias, r})) return y;
  Tensor rm = running_mean.detach().clone(), rv = running_var.detach().clone();
  record(y, op, bn_inputs(x, weight, bias, r),
         [op, act, rows, c, inner, x, weight, bias, with_r, r_grad, rm, rv, eps,
          out](const Tensor& gy) -> std::vector<Tensor> {
           Tensor gx = empty_if(x.requires_grad(), x), gw = empty_if(weight.defined() && weight.requires_grad(), weight),
                  gb = empty_if(bias.defined() && bias.requires_grad(), bias),
                  gr = empty_if(r_grad, x);
           dispatch(op, gy, [&](auto backend, auto t) {
             using T = decltype(t);
             batch_norm_eval_bwd(backend, BatchNormEvalBwd<T>{.shape = {rows, c, inner},
                                                              .eps = eps,
                                                              .act = act,
                                                              .x = x.data_any_format<T>(),
                                                              .y = any_ptr<T>(out),
                                                              .gy = gy.data_any_format<T>(),
                                                              .gamma = ptr<T>(weight),
                                                              .running_mean = rm.data<T>(),
                                                              .running_var = rv.data<T>(),
                                                              .gx = any_ptr<T>(gx),
                                                              .ggamma = ptr<T>(gw),
                                                              .gbeta = ptr<T>(gb),
                                                              .gr = any_ptr<T>(gr)});
           });
           if (with_r) return {gx, gw, gb, gr};
           return {gx, gw, gb};
         });
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  HEMO_CHECK(x.dim() >= 2, "layer_norm: expected [N, C, ...] input, got ", x.str());
  check_same_place("layer_norm", {x, weight, bias});
  const int64_t n = x.size(0), c = x.size(1), hw = n * c > 0 ? x.numel() / (n * c) : 0;
  HEMO_CHECK(c >= 1, "layer_norm: expected at least one channel, got ", x.str());
  HEMO_CHECK(weight.defined() == bias.defined(), "layer_norm: give both weight and bias, or neither");
  check_channel_tensor(weight, c, "weight", "layer_norm");
  check_channel_tensor(bias, c, "bias", "layer_norm");
  HEMO_CHECK(eps > 0, "layer_norm: eps must be positive, got ", eps);
  // Channels-last storage is [N H W, C]: each pixel's channels are one row of its own, and the
  // per-pixel statistics come out in the same (n, pixel) order.
  const int64_t rows = x.is_channels_last() ? n * hw : n, inner = x.is_channels_last() ? 1 : hw;
  Tensor y = Tensor::empty_like(x);
  Tensor mean = Tensor::empty({n * hw}, x.dtype(), x.device()), invstd = Tensor::empty({n * hw}, x.dtype(), x.device());
  dispatch("layer_norm", x, [&](auto backend, auto t) {
    using T = decltype(t);
    layer_norm_fwd(backend, LayerNormFwd<T>{.shape = {rows, c, inner},
                                            .eps = eps,
                                            .x = x.data_any_format<T>(),
                                            .gamma = ptr<T>(weight),
                                            .beta = ptr<T>(bias),
                                            .y = y.data_any_format<T>(),
                                            .save_mean = mean.data<T>(),
                                            .save_invstd = invstd.data<T>()});
  });
  record(y, "layer_norm", {x, weight, bias},
         [rows, c, inner, x, weight, bias, mean, invstd](const Tensor& gy) -> std::vector<Tensor> {
           Tensor gx = empty_if(x.requires_grad(), x), gw = empty_if(weight.defined() && weight.requires_grad(), weight),
                  gb = empty_if(bias.defined() && bias.requires_grad(), bias);
           dispatch("layer_norm", gy, [&](auto backend, auto t) {
             using T = decltype(t);
             layer_norm_bwd(backend, LayerNormBwd<T>{.shape = {rows, c, inner},
                                                     .x = x.data_any_format<T>(),
                                                     .gy = gy.data_any_format<T>(),
                                                     .gamma = ptr<T>(weight),
                                                     .save_mean = mean.data<T>(),
                                                     .save_invstd = invstd.data<T>(),
                                                     .gx = any_ptr<T>(gx),
                                                     .ggamma = ptr<T>(gw),
                                                     .gbeta = ptr<T>(gb)});
           });
           return {gx, gw, gb};
         });
  return y;
}

}  // namespace hemo::nn
