// IEEE half precision (binary16: 1 sign bit, 5 exponent bits, 10 mantissa bits), as stored in
// safetensors F16 tensors; hemo computes in float32 and only reads and writes these bits.
//
// fp16_to_float is exact. fp16_from_float rounds to nearest, ties to even (as IEEE conversion and
// numpy's astype(float16) do): for |f| in half's normal range [2^-14, 65504] the relative error is at
// most 2^-11; below it the subnormals are spaced 2^-24 apart, so the absolute error is at most 2^-25.
// |f| >= 65520 (halfway past the largest half, 65504) becomes an infinity of f's sign; infinities and
// zeros keep their sign; a NaN stays a NaN (quiet, its payload's top bits kept).
#pragma once
#include <bit>
#include <cstdint>

namespace hemo {

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  const uint32_t bits = exp == 31 ? (sign | 0x7F800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  return std::bit_cast<float>(bits);
}

inline uint16_t fp16_from_float(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7FFFFFFFu;                   // |f|'s bits
  if (a > 0x7F800000u) return sign | 0x7E00u | ((a >> 13) & 0x3FFu);  // NaN
  if (a >= 0x477FF000u) return sign | 0x7C00u;          // >= 65520 (or infinite): infinity
  if (a >= 0x38800000u) {                               // >= 2^-14: a normal half
    const uint32_t r = a - 0x38000000u;                 // rebias the exponent from 127 to 15
    return sign | static_cast<uint16_t>((r + 0xFFFu + ((r >> 13) & 1u)) >> 13);  // a mantissa carry bumps the exponent
  }
  if (a <= 0x33000000u) return sign;                    // <= 2^-25 (half the smallest subnormal): zero
  // A subnormal: |f| / 2^-24 = mant * 2^(exp - 126), with shift = 126 - exp in [14, 24].
  const uint32_t exp = a >> 23, mant = (a & 0x7FFFFFu) | 0x800000u, shift = 126 - exp;
  uint32_t q = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;   // q == 0x400 is the smallest normal, encoded alike
  return sign | static_cast<uint16_t>(q);
}

}  // namespace hemo
