// In-place optimizer updates over Tensors (the math in kernels/optim.h), dispatched once on the
// parameter's device: the seam train/'s optimizers call so one step runs on the CPU or the GPU.
// Not differentiable (they run outside autograd). param, grad and the state buffers must share
// shape, dtype and device; momentum_buf may be undefined when h.momentum == 0.
#pragma once
#include <vector>

#include "kernels/optim.h"
#include "tensor/tensor.h"

namespace hemo::nn {

void sgd_update_(const SgdParams& h, Tensor& param, const Tensor& grad, Tensor& momentum_buf);
void adam_update_(const AdamParams& h, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v);

// The same updates for a list of parameters in one call (kernels/optim.h's multi-tensor form: on
// CUDA one launch per 24 tensors), entry i with its own hyper-parameters h[i]; bit for bit the
// single calls. Every tensor must share the first parameter's dtype and device; each entry is
// checked as the single call checks it. `consts` (optional): entry i's constants at consts[i] on
// the parameters' device (kernels/optim.h's MultiTensorArgs::consts: SgdConsts<T> / AdamConsts<T>
// of the parameters' dtype), read when the update runs instead of made from h[i], which then only
// serves the checks (a captured CUDA graph's optimizer step, train/captured_step.h).
void sgd_update_multi_(const std::vector<SgdParams>& h, std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                       std::vector<Tensor>& momentum_bufs, const void* consts = nullptr);
void adam_update_multi_(const std::vector<AdamParams>& h, std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        std::vector<Tensor>& m, std::vector<Tensor>& v, const void* consts = nullptr);

}  // namespace hemo::nn
