// Differentiable fully connected layer, torch's F.linear: y = x W^T + b.
// x [N, in], weight [out, in], bias [out] or undefined -> y [N, out]; as torch, any leading
// dimensions work (x [..., in] -> y [..., out]). Runs on kernels/linear.h (the GEMM of
// kernels/gemm.h). Differentiable w.r.t. x, weight and bias; errors name the op and the shapes.
#pragma once
#include "tensor/tensor.h"

namespace hemo::nn {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace hemo::nn
