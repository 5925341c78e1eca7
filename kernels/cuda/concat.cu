// CUDA strided row copy (the contract is kernels/concat.h). One thread per element over the
// rows x len block: consecutive threads read and write consecutive addresses within a row, so both
// sides coalesce; a row boundary costs one division per element, negligible against the memory
// traffic of a copy.
#include "kernels/concat.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void copy_rows_kernel(int64_t rows, int64_t len, const T* __restrict__ src, int64_t src_pitch,
                                 T* __restrict__ dst, int64_t dst_pitch) {
  for (int64_t i : grid_stride(rows * len)) {
    const int64_t r = i / len, c = i - r * len;
    dst[r * dst_pitch + c] = src[r * src_pitch + c];
  }
}
}  // namespace

template <class T>
void copy_rows(Backend, int64_t rows, int64_t len, const T* src, int64_t src_pitch, T* dst, int64_t dst_pitch) {
  if (rows * len == 0) return;
  HEMO_LAUNCH(copy_rows_kernel<T>, grid_for(rows * len, kThreads), kThreads, 0, rows, len, src, src_pitch, dst,
              dst_pitch);
}

template void copy_rows<float>(Backend, int64_t, int64_t, const float*, int64_t, float*, int64_t);

}  // namespace hemo::cuda
