// Differentiable fully connected layer, torch's F.linear: y = x W^T + b.
// x [N, in], weight [out, in], bias [out] or undefined -> y [N, out]. Runs on the GEMM of
// kernels/gemm.h. Differentiable w.r.t. x, weight and bias.
#pragma once
#include "tensor/tensor.h"

namespace hemo::nn {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace hemo::nn
