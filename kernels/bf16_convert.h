// Float32 <-> bfloat16 conversion of GEMM and convolution operands, for --precision bf16 on CUDA
// (kernels/precision.h): the library calls there take bf16 inputs, and hemo's tensors and weights
// stay float32, so each call rounds its operands into scratch buffers and widens what the library
// returns in bf16.
//
//   to_bf16:   dst[i cols + j] = bf16(src[i ld + j])   for i < rows, j < cols (ld >= cols)
//   from_bf16: dst[i] = float(src[i])                   for i < n
//
// Rounding is core/bf16.h's (nearest, ties to even, NaN kept a NaN); widening is exact. to_bf16
// reads a row-major matrix with leading dimension ld (a GEMM operand as stored) and writes it
// packed, so the padding between rows is never read. The CPU versions are the reference the
// CUDA kernels (kernels/cuda/bf16_convert.cu) must match bit for bit.
#pragma once
#include <cstdint>

#include "core/bf16.h"
#include "kernels/backend.h"

namespace hemo {
namespace cpu {
void to_bf16(Backend, int64_t rows, int64_t cols, int64_t ld, const float* src, bf16* dst);
void from_bf16(Backend, int64_t n, const bf16* src, float* dst);
}  // namespace cpu
namespace cuda {
void to_bf16(Backend, int64_t rows, int64_t cols, int64_t ld, const float* src, bf16* dst);
void from_bf16(Backend, int64_t n, const bf16* src, float* dst);
}  // namespace cuda
}  // namespace hemo
