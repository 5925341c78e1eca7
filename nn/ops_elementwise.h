// Differentiable elementwise arithmetic (kernels/elementwise.h).
//
// add(a, b): same shapes; y = a + b (ResNet and MobileNet residuals).
// mul(a, b): y = a * b where b has a's shape, or b is [N, C, 1, 1] (or [N, C]) for an a of
//   [N, C, H, W]: b is broadcast over the spatial positions (squeeze-excitation's channel scale).
//   The gradient of a broadcast b is summed over the positions it was broadcast to.
// scale(a, s): y = s * a for a constant s.
#pragma once
#include "tensor/tensor.h"

namespace hemo::nn {

Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);

}  // namespace hemo::nn
