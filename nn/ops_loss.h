// Cross-entropy fused with log-softmax, torch's F.cross_entropy(logits, labels, weight,
// reduction, label_smoothing) for class-index targets (math in kernels/softmax_xent.h).
//
// logits [N, K]; labels: N class indices in [0, K) (an out-of-range label is an Error naming it);
// class_weights [K] or undefined (all 1); label_smoothing eps in [0, 1):
//   loss_i = (1 - eps) w[y_i] (-log p_i[y_i]) + (eps / K) sum_k w[k] (-log p_i[k])
//   mean: sum_i loss_i / sum_i w[y_i]     sum: sum_i loss_i      none: [N] of loss_i
// Differentiable w.r.t. logits only.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::nn {

enum class Reduction { mean, sum, none };

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels, const Tensor& class_weights = {},
                     double label_smoothing = 0.0, Reduction reduction = Reduction::mean);

// The same with the N labels already in the logits' device memory at `device_labels`, in [0, K)
// (the caller checks them): nothing is uploaded, so the call can be captured into a CUDA graph
// whose replays read the labels copied there before each replay (train/captured_step.h). Class
// weights are refused: the weighted mean's divisor is summed on the host from the labels.
Tensor cross_entropy(const Tensor& logits, const int64_t* device_labels, double label_smoothing = 0.0,
                     Reduction reduction = Reduction::mean);

}  // namespace hemo::nn
