#include "nn/ops_activation.h"

#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
Tensor activation_backward(Activation a, const Tensor& x, const Tensor& gy) {
  Tensor gx = Tensor::empty_like(x);
  dispatch(activation_name(a), x, [&](auto backend, auto t) {
    using T = decltype(t);
    activation_bwd(backend, a, x.numel(), x.data<T>(), gy.data<T>(), gx.data<T>());
  });
  return gx;
}
}  // namespace

Tensor activation(Activation a, const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  dispatch(activation_name(a), x, [&](auto backend, auto t) {
    using T = decltype(t);
    activation_fwd(backend, a, x.numel(), x.data<T>(), y.data<T>());
  });
  record(y, activation_name(a), {x}, [a, x](const Tensor& gy) -> std::vector<Tensor> {
    return {activation_backward(a, x.detach(), gy)};
  });
  return y;
}

}  // namespace hemo::nn
