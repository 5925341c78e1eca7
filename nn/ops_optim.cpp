#include "nn/ops_optim.h"

#include "nn/dispatch.h"

namespace hemo::nn {

namespace {
void check_like(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  HEMO_CHECK(t.defined() && t.shape() == param.shape(), op, ": ", what, " must have the parameter's shape ",
             shape_str(param.shape()), ", got ", t.str());
}
}  // namespace

void sgd_update_(const SgdParams& h, Tensor& param, const Tensor& grad, Tensor& momentum_buf) {
  check_like("sgd_update_", param, grad, "grad");
  const bool momentum = h.momentum != 0;
  if (momentum) check_like("sgd_update_", param, momentum_buf, "momentum_buf");
  check_same_place("sgd_update_", {param, grad, momentum ? momentum_buf : Tensor()});
  dispatch("sgd_update_", param, [&](auto backend, auto t) {
    using T = decltype(t);
    sgd_update(backend, h, param.numel(), param.data<T>(), grad.data<T>(), momentum ? momentum_buf.data<T>() : nullptr);
  });
}

void adam_update_(const AdamParams& h, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) {
  check_like("adam_update_", param, grad, "grad");
  check_like("adam_update_", param, m, "m (exp_avg)");
  check_like("adam_update_", param, v, "v (exp_avg_sq)");
  check_same_place("adam_update_", {param, grad, m, v});
  HEMO_CHECK(h.step >= 1, "adam_update_: step must count from 1, got ", h.step);
  dispatch("adam_update_", param, [&](auto backend, auto t) {
    using T = decltype(t);
    adam_update(backend, h, param.numel(), param.data<T>(), grad.data<T>(), m.data<T>(), v.data<T>());
  });
}

}  // namespace hemo::nn
