// bfloat16: the top 16 bits of an IEEE float32 (1 sign bit, 8 exponent bits, 7 mantissa bits), so
// it has float32's range with about 3 significant decimal digits. The storage type of bf16 tensors.
//
// Conversion from float rounds to nearest, ties to even (as CUDA's __float2bfloat16 and PyTorch
// do): the relative error of one conversion is at most 2^-8 (8 significant bits) for normal
// numbers. Infinities and zeros keep their sign; a NaN stays a NaN (its payload's top bits kept,
// the quiet bit set, so rounding can never carry it into an infinity); a float above the largest
// bf16 rounds to infinity. Conversion to float is exact. The two conversions are written once for
// host code and CUDA kernels (kernels/cuda/bf16_convert.cu), so both devices round the same bits.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace hemo {

struct bf16 {
  uint16_t bits = 0;
};

HEMO_HOST_DEVICE inline bf16 bf16_from_float(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)  // NaN
    return bf16{static_cast<uint16_t>((u >> 16) | 0x0040u)};
  const uint32_t lsb = (u >> 16) & 1u;  // ties go to the even result
  return bf16{static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16)};
}

HEMO_HOST_DEVICE inline float bf16_to_float(bf16 b) {
  const uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace hemo
