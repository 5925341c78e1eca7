// Differentiable 2-d pooling over NCHW tensors (math, output sizes and PyTorch's divisor and
// tie rules in kernels/pooling.h). Pairs are {height, width}.
#pragma once
#include <array>
#include <cstdint>

#include "kernels/pooling.h"
#include "nn/pair.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// x [N, C, H, W] -> [N, C, P, Q]; differentiable w.r.t. x (the gradient goes to the first maximum).
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding = {0, 0}, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true);
// x [N, C, H, W] -> [N, C, out_h, out_w] with PyTorch's adaptive windows.
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output);

}  // namespace hemo::nn
