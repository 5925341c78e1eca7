#include "nn/ops_activation.h"

#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

// Elementwise, so in storage order whatever the memory format: y and gx take x's, and gy arrives in
// y's (tensor/autograd.h).
namespace {
Tensor activation_backward(Activation a, const Tensor& x, const Tensor& gy) {
  Tensor gx = Tensor::empty_like(x);
  dispatch(activation_name(a), x, [&](auto backend, auto t) {
    using T = decltype(t);
    activation_bwd(backend, a, x.numel(), x.data_any_format<T>(), gy.data_any_format<T>(), gx.data_any_format<T>());
  });
  return gx;
}
}  // namespace

Tensor activation(Activation a, const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  dispatch(activation_name(a), x, [&](auto backend, auto t) {
    using T = decltype(t);
    activation_fwd(backend, a, x.numel(), x.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, activation_name(a), {x}, [a, x](const Tensor& gy) -> std::vector<Tensor> {
    return {activation_backward(a, x.detach(), gy)};
  });
  return y;
}

}  // namespace hemo::nn
