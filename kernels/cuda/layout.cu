// CUDA batched 2-d transpose (kernels/layout.h): one block of 32x8 threads per 32x32 tile, staged
// in shared memory (one padding column, so the column reads hit 32 different banks); each warp
// reads a tile row and writes a tile column as consecutive addresses.
#include "core/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/layout.h"

namespace hemo::cuda {

namespace {
constexpr int kTile = 32, kTileRows = 8;

template <class E>
__global__ void transpose_kernel(int64_t rows, int64_t cols, const E* src, E* dst) {
  __shared__ E tile[kTile][kTile + 1];
  const int64_t b = blockIdx.z, i0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const E* s = src + b * rows * cols;
  E* d = dst + b * rows * cols;
  for (int r = threadIdx.y; r < kTile; r += kTileRows) {
    const int64_t i = i0 + r, j = j0 + threadIdx.x;
    if (i < rows && j < cols) tile[r][threadIdx.x] = s[i * cols + j];
  }
  __syncthreads();
  for (int r = threadIdx.y; r < kTile; r += kTileRows) {
    const int64_t j = j0 + r, i = i0 + threadIdx.x;
    if (i < rows && j < cols) d[j * rows + i] = tile[threadIdx.x][r];
  }
}

template <class E>
void transpose(int64_t batch, int64_t rows, int64_t cols, const void* src, void* dst) {
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile), static_cast<unsigned>((rows + kTile - 1) / kTile),
                  static_cast<unsigned>(batch));
  HEMO_CHECK(grid.y <= 65535 && grid.z <= 65535, "transpose_batched: ", batch, " x ", rows, " x ", cols,
             " has too many tiles for one launch");
  HEMO_LAUNCH(transpose_kernel<E>, grid, dim3(kTile, kTileRows), 0, rows, cols, static_cast<const E*>(src),
              static_cast<E*>(dst));
}
}  // namespace

void transpose_batched(Backend, size_t elem_bytes, int64_t batch, int64_t rows, int64_t cols, const void* src,
                       void* dst) {
  if (batch == 0 || rows == 0 || cols == 0) return;
  switch (elem_bytes) {
    case 1: return transpose<uint8_t>(batch, rows, cols, src, dst);
    case 2: return transpose<uint16_t>(batch, rows, cols, src, dst);
    case 4: return transpose<uint32_t>(batch, rows, cols, src, dst);
    case 8: return transpose<uint64_t>(batch, rows, cols, src, dst);
    default: throw Error(cat("transpose_batched: elements of ", elem_bytes, " bytes are not supported"));
  }
}

}  // namespace hemo::cuda
