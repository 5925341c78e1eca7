// Differentiable dropout (mask and scaling in kernels/dropout.h).
#pragma once
#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// Training: zeroes each element with probability p and scales the rest by 1 / (1 - p); the mask
// comes from ceil(numel / 4) Philox blocks reserved from `gen`, so it is reproducible from the
// generator's state. Returns x itself when !training or p == 0 (gen is not advanced), zeros when
// p == 1 (still differentiable: the gradient is zero). Requires 0 <= p <= 1.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace hemo::nn
