// Differentiable softmax and log-softmax along one dimension (negative dims count from the end),
// computed stably (max subtracted); math in kernels/softmax.h.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace hemo::nn {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace hemo::nn
