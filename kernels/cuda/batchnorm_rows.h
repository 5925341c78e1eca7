// CUDA batch norm over the rows of a [M, C] matrix (kernels/cuda/batchnorm_rows.cu): the hw == 1
// shapes of kernels/batchnorm.h with M = shape.n >= 1 and C >= 1, which kernels/cuda/batchnorm.cu
// hands here. Same contracts as the batchnorm.h entry points, and the same bits as the CPU's
// kernels/cpu/batchnorm_rows.h. (The eval forward and the eval input gradient are per-element maps
// in batchnorm.cu, already in memory order.)
#pragma once
#include "kernels/batchnorm.h"

namespace hemo::cuda::rows {
template <class T> void train_fwd(const BatchNormTrainFwd<T>& a);
template <class T> void train_bwd(const BatchNormTrainBwd<T>& a);
template <class T> void eval_param_grads(const BatchNormEvalBwd<T>& a);  // ggamma and gbeta
}  // namespace hemo::cuda::rows
