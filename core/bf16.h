// bfloat16: the top 16 bits of an IEEE float32 (1 sign bit, 8 exponent bits, 7 mantissa bits), so
// it has float32's range with about 3 significant decimal digits. The storage type of bf16 tensors.
//
// Conversion from float rounds to nearest, ties to even (as CUDA's __float2bfloat16 and PyTorch
// do): the relative error of one conversion is at most 2^-8 (8 significant bits) for normal
// numbers. Infinities and zeros keep their sign; a NaN stays a NaN (its payload's top bits kept,
// the quiet bit set, so rounding can never carry it into an infinity); a float above the largest
// bf16 rounds to infinity. Conversion to float is exact. Host code only: CUDA kernels use
// cuda_bf16.h's __nv_bfloat16, which has the same bits.
#pragma once
#include <bit>
#include <cstdint>

namespace hemo {

struct bf16 {
  uint16_t bits = 0;
};

inline bf16 bf16_from_float(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)  // NaN
    return bf16{static_cast<uint16_t>((u >> 16) | 0x0040u)};
  const uint32_t lsb = (u >> 16) & 1u;  // ties go to the even result
  return bf16{static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16)};
}

inline float bf16_to_float(bf16 b) { return std::bit_cast<float>(static_cast<uint32_t>(b.bits) << 16); }

}  // namespace hemo
