// Channel concatenation and channel slicing, differentiable (kernels/concat.h).
//
// concat_channels(xs): every xs[k] is [N, C_k, ...] with the same N and the same trailing sizes
//   (and the same device and dtype); y is [N, C, ...] with C = sum of C_k and
//   y[:, O_k : O_k + C_k] = xs[k], O_k = C_0 + ... + C_{k-1} (torch.cat(xs, dim=1)).
//   d/dxs[k] is the channel slice gy[:, O_k : O_k + C_k].
// slice_channels(x, begin, end): y = x[:, begin:end] as a new contiguous tensor, 0 <= begin <
//   end <= C. d/dx is gy in channels [begin, end) and 0 in the others.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::nn {

Tensor concat_channels(const std::vector<Tensor>& xs);
Tensor slice_channels(const Tensor& x, int64_t begin, int64_t end);

}  // namespace hemo::nn
