// In-place optimizer updates over Tensors (the math in kernels/optim.h), dispatched once on the
// parameter's device: the seam train/'s optimizers call so one step runs on the CPU or the GPU.
// Not differentiable (they run outside autograd). param, grad and the state buffers must share
// shape, dtype and device; momentum_buf may be undefined when h.momentum == 0.
#pragma once
#include "kernels/optim.h"
#include "tensor/tensor.h"

namespace hemo::nn {

void sgd_update_(const SgdParams& h, Tensor& param, const Tensor& grad, Tensor& momentum_buf);
void adam_update_(const AdamParams& h, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v);

}  // namespace hemo::nn
