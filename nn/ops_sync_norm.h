// Synchronized batch normalization (`hemo train --sync-bn`, docs/training.md): batch_norm's
// training mode (nn/ops_norm.h) with the statistics of the global batch over every rank of a
// data-parallel run. nn knows nothing of MPI: `reduce` sums a host buffer of doubles in place over
// the ranks (the trainer passes its Communicator's all-reduce). Every rank must call it the same
// number of times in the same order, so every rank runs the forward and the backward of a step.
// Float32 tensors, all on one device. A CUDA input is staged through the host (differentiable
// copies; the running statistics updated there and copied back): correct, not fast.
//
// Sums S run over n, h, w and over all ranks; M = S(1), the global count of values per channel.
//   forward:  one all-reduce of [S(x), S(x^2), M] (2C + 1 doubles, accumulated in double);
//             mean = S(x)/M, var = S(x^2)/M - mean^2 (biased), invstd = 1/sqrt(var + eps),
//             y = (x - mean) invstd gamma + beta; running = (1 - momentum) running + momentum
//             batch, with the unbiased var (M / (M - 1)), as batch_norm.
//   backward: one all-reduce of [S(gy), S(gy xhat)] (2C doubles);
//             gx = gamma invstd (gy - S(gy)/M - xhat S(gy xhat)/M), the global batch's gradient;
//             ggamma, gbeta: this rank's own sums of gy xhat and gy, which the gradient all-reduce
//             then sums over the ranks as it does every parameter's gradient.
#pragma once
#include <functional>
#include <span>

#include "tensor/tensor.h"

namespace hemo::nn {

using HostAllReduce = std::function<void(std::span<double>)>;

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                       Tensor& running_var, double momentum, double eps, const HostAllReduce& reduce);

}  // namespace hemo::nn
