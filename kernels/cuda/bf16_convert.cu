// Float32 <-> bfloat16 conversion on CUDA (contract in kernels/bf16_convert.h): one thread per
// element over the packed index, so consecutive threads write consecutive bf16 values and read
// consecutive floats within a row. Memory-bound; the rounding is core/bf16.h's, shared with the CPU.
#include "kernels/bf16_convert.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
__global__ void to_bf16_kernel(int64_t n, int64_t cols, int64_t ld, const float* src, bf16* dst) {
  for (int64_t i : grid_stride(n)) dst[i] = bf16_from_float(src[i / cols * ld + i % cols]);
}
__global__ void from_bf16_kernel(int64_t n, const bf16* src, float* dst) {
  for (int64_t i : grid_stride(n)) dst[i] = bf16_to_float(src[i]);
}
}  // namespace

void to_bf16(Backend, int64_t rows, int64_t cols, int64_t ld, const float* src, bf16* dst) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  HEMO_LAUNCH(to_bf16_kernel, grid_for(n, kThreads), kThreads, 0, n, cols, ld, src, dst);
}

void from_bf16(Backend, int64_t n, const bf16* src, float* dst) {
  if (n == 0) return;
  HEMO_LAUNCH(from_bf16_kernel, grid_for(n, kThreads), kThreads, 0, n, src, dst);
}

}  // namespace hemo::cuda
