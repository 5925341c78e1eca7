// Differentiable pointwise activations (math and kink conventions in kernels/activation.h).
#pragma once
#include "kernels/activation.h"
#include "tensor/tensor.h"

namespace hemo::nn {

Tensor activation(Activation a, const Tensor& x);
inline Tensor relu(const Tensor& x) { return activation(Activation::relu, x); }
inline Tensor relu6(const Tensor& x) { return activation(Activation::relu6, x); }
inline Tensor hardsigmoid(const Tensor& x) { return activation(Activation::hardsigmoid, x); }
inline Tensor hardswish(const Tensor& x) { return activation(Activation::hardswish, x); }
inline Tensor sigmoid(const Tensor& x) { return activation(Activation::sigmoid, x); }

}  // namespace hemo::nn
