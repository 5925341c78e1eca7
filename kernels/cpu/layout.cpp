// Batched 2-d transpose on the CPU (contract in kernels/layout.h).
#include <cstdint>

#include "core/error.h"
#include "kernels/layout.h"

namespace hemo::cpu {
namespace {
constexpr int64_t kTile = 32;
// Copies below this many elements stay on one thread.
constexpr int64_t kParallelWork = int64_t(1) << 16;

template <class E>
void transpose(int64_t batch, int64_t rows, int64_t cols, const E* src, E* dst) {
  const int64_t row_tiles = (rows + kTile - 1) / kTile, col_tiles = (cols + kTile - 1) / kTile;
  const int64_t tiles = batch * row_tiles * col_tiles;
#pragma omp parallel for schedule(static) if (batch * rows * cols > kParallelWork)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t b = t / (row_tiles * col_tiles), i0 = t / col_tiles % row_tiles * kTile, j0 = t % col_tiles * kTile;
    const E* s = src + b * rows * cols;
    E* d = dst + b * rows * cols;
    const int64_t i1 = i0 + kTile < rows ? i0 + kTile : rows, j1 = j0 + kTile < cols ? j0 + kTile : cols;
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t i = i0; i < i1; ++i) d[j * rows + i] = s[i * cols + j];
  }
}
}  // namespace

void transpose_batched(Backend, size_t elem_bytes, int64_t batch, int64_t rows, int64_t cols, const void* src,
                       void* dst) {
  switch (elem_bytes) {
    case 1: return transpose(batch, rows, cols, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2: return transpose(batch, rows, cols, static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4: return transpose(batch, rows, cols, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    case 8: return transpose(batch, rows, cols, static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
    default: throw Error(cat("transpose_batched: elements of ", elem_bytes, " bytes are not supported"));
  }
}

}  // namespace hemo::cpu
