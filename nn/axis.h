// A contiguous tensor seen as [outer, n, inner] around one dimension, the view the softmax and
// reduction kernels take: outer = product of the dimensions before `dim`, n = its size, inner =
// product of those after.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace hemo::nn {

struct AxisView {
  int64_t dim = 0;  // the dimension, non-negative
  int64_t outer = 1, n = 1, inner = 1;
};

// dim may be negative (counts from the end); out of range is an Error naming `op` and the shape.
inline AxisView axis_view(const char* op, const Shape& shape, int64_t dim) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t d = dim < 0 ? dim + rank : dim;
  HEMO_CHECK(d >= 0 && d < rank, op, ": dim ", dim, " is out of range for shape ", shape_str(shape));
  AxisView v;
  v.dim = d;
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t s = shape[static_cast<size_t>(i)];
    if (i < d) v.outer *= s;
    else if (i == d) v.n = s;
    else v.inner *= s;
  }
  return v;
}

}  // namespace hemo::nn
