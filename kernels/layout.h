// Memory-format conversion: a batch of 2-d transposes, the copy between the two layouts of a 4-d
// activation (tensor/tensor.h, MemoryFormat).
//
//   dst[b][j][i] = src[b][i][j]      for b < batch, i < rows, j < cols
//
// src is [batch, rows, cols] and dst [batch, cols, rows], both contiguous. NCHW -> NHWC is
// (batch, rows, cols) = (N, C, H W); NHWC -> NCHW is (N, H W, C). The copy is exact for any element
// type, so the kernels take the element's size (1, 2, 4 or 8 bytes: a byte mask, bfloat16, float,
// double) rather than its type. src and dst must not overlap.
//
// The CPU version walks 32x32 tiles, so that both the reads and the writes stay in a few cache
// lines per tile. The CUDA version (kernels/cuda/layout.cu) stages 32x32 tiles in shared memory:
// a warp reads a row of the tile and writes a column of it, both coalesced.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {
namespace cpu {
void transpose_batched(Backend, size_t elem_bytes, int64_t batch, int64_t rows, int64_t cols, const void* src,
                       void* dst);
}  // namespace cpu
namespace cuda {
void transpose_batched(Backend, size_t elem_bytes, int64_t batch, int64_t rows, int64_t cols, const void* src,
                       void* dst);
}  // namespace cuda
}  // namespace hemo
