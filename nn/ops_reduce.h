// Differentiable sum and mean reductions (kernels/reduce.h); sums accumulate in double.
//
// sum(x), mean(x): over every element, a 0-d result.
// sum(x, dim, keepdim), mean(x, dim, keepdim): over one dimension (negative counts from the end).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace hemo::nn {

Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace hemo::nn
