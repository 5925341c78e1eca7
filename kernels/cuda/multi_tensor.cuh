// What the multi-tensor kernels (optim.cu, grad_clip.cu) share: a table of tensors passed by value
// as the kernel's argument, whose elements one grid-stride loop visits as one flat range, tensor t
// covering [start[t], start[t + 1]).
#pragma once
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

// The tensor holding flat index i: the last t with start[t] <= i (a binary search of the table).
template <class Tab>
__device__ inline int tensor_of(const Tab& tab, int64_t i) {
  int lo = 0, hi = tab.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (tab.start[mid] <= i) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace hemo::cuda
