// Float32 <-> bfloat16 conversion on the CPU (contract in kernels/bf16_convert.h): the reference
// for the CUDA kernels.
#include "kernels/bf16_convert.h"

namespace hemo::cpu {

void to_bf16(Backend, int64_t rows, int64_t cols, int64_t ld, const float* src, bf16* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[i * cols + j] = bf16_from_float(src[i * ld + j]);
}

void from_bf16(Backend, int64_t n, const bf16* src, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(src[i]);
}

}  // namespace hemo::cpu
