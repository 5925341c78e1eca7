// Batch norm of a [M, C] matrix on the CPU: the hw == 1 shapes of kernels/batchnorm.h, which are
// BatchNorm1d's [N, C] and a channels-last [N, H, W, C] activation seen as [N H W, C]
// (nn::batch_norm). Same contracts as the batchnorm.h entry points; batchnorm.cpp calls these when
// hw == 1.
//
// Walking a channel's M values at stride C, as the per-channel loops of batchnorm.cpp do, touches
// a cache line per value; here the rows are walked in memory order, every channel at once (unit
// stride, vectorized over the channels). The rows are cut into fixed chunks of 128; each chunk's
// sum and its sum of squared deviations from its own mean are taken in double (two sweeps of the
// chunk while it is in cache), then the chunks are merged in order (Chan et al.'s update:
// M2 = sum of (M2_b + m_b (mean_b - mean)^2)), so the result does not depend on the thread count
// and differs from the per-channel path's by double rounding only. The backward's sums likewise.
// Two passes over memory in the forward (statistics, map) and two in the backward (sums, gx).
// (Sums in float within a chunk ran 1.3x faster, but moved a one-process ResNet-18 run at 32x32,
// whose last batch norms see [N, C, 1, 1], 0.03 of an update away from the double-summing
// sync-BN run: training-mode batch norm amplifies rounding where a channel has few values.)
#pragma once
#include "kernels/batchnorm.h"

namespace hemo::cpu::rows {
template <BnAct A, class T> void train_fwd(const BatchNormTrainFwd<T>& a);
template <BnAct A, class T> void eval_fwd(const BatchNormEvalFwd<T>& a);
template <BnAct A, class T> void train_bwd(const BatchNormTrainBwd<T>& a);
template <BnAct A, class T> void eval_bwd(const BatchNormEvalBwd<T>& a);
}  // namespace hemo::cpu::rows
