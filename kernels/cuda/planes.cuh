// The index arithmetic of a 4-d activation [n, c, rows, cols] stored NCHW (contiguous) or NHWC
// (channels-last), for the kernels that take both (depthwise convolution, max pooling). A kernel
// walks its output (or input gradient) in MEMORY order, decomposing each offset with pos(), so
// consecutive threads touch consecutive addresses in either order: in NHWC they are consecutive
// channels of one pixel.
#pragma once
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

struct Planes {
  int64_t c = 0, rows = 0, cols = 0;
  bool nhwc = false;

  // The offset of element (b, ch, i, j).
  __device__ int64_t at(int64_t b, int64_t ch, int64_t i, int64_t j) const {
    return nhwc ? ((b * rows + i) * cols + j) * c + ch : ((b * c + ch) * rows + i) * cols + j;
  }
  // The element at offset e: at(b, ch, i, j) == e.
  __device__ void pos(int64_t e, int64_t& b, int64_t& ch, int64_t& i, int64_t& j) const {
    if (nhwc) {
      ch = e % c;
      j = e / c % cols;
      i = e / (c * cols) % rows;
      b = e / (c * cols * rows);
    } else {
      j = e % cols;
      i = e / cols % rows;
      ch = e / (cols * rows) % c;
      b = e / (cols * rows * c);
    }
  }
};

}  // namespace hemo::cuda
