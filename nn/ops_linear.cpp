#include "nn/ops_linear.h"

#include "kernels/linear.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (x.defined() && x.is_channels_last()) return linear(x.contiguous(), weight, bias);
  HEMO_CHECK(x.defined() && weight.defined(), "linear: input and weight are required");
  HEMO_CHECK(weight.dim() == 2, "linear: weight must be [out_features, in_features], got ", weight.str());
  const int64_t out = weight.size(0), in = weight.size(1);
  HEMO_CHECK(x.dim() >= 1 && x.size(-1) == in, "linear: input ", x.str(), " does not end in in_features = ", in,
             " of weight ", weight.str());
  HEMO_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out), "linear: bias must be [", out, "], got ",
             bias.str());
  check_same_place("linear", {x, weight, bias});
  // Leading dimensions of x are rows of one matrix ([*, in] -> [*, out], as torch).
  const int64_t rows = in > 0 ? x.numel() / in : shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch("linear", x, [&](auto backend, auto t) {
    using T = decltype(t);
    linear_fwd(backend, {rows, in, out}, x.data<T>(), weight.data<T>(), ptr<T>(bias), y.data<T>());
  });
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  record(y, "linear", {x, weight, bias},
         [rows, in, out, need_x, need_w, need_b, x = x.detach(), weight = weight.detach()](
             const Tensor& gy) -> std::vector<Tensor> {
           Tensor gx = need_x ? Tensor::empty_like(x) : Tensor();
           Tensor gw = need_w ? Tensor::empty_like(weight) : Tensor();
           Tensor gb = need_b ? Tensor::empty({out}, gy.dtype(), gy.device()) : Tensor();
           dispatch("linear", gy, [&](auto backend, auto t) {
             using T = decltype(t);
             if (need_x) linear_bwd_data(backend, {rows, in, out}, gy.data<T>(), weight.data<T>(), gx.data<T>());
             if (need_w || need_b)
               linear_bwd_weight(backend, {rows, in, out}, x.data<T>(), gy.data<T>(), ptr<T>(gw), ptr<T>(gb));
           });
           return {gx, gw, gb};
         });
  return y;
}

}  // namespace hemo::nn
