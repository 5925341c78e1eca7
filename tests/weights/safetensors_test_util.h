// Helpers shared by the safetensors tests: deterministic tensor contents derived from the tensor's
// name, the same formula as tests/weights/safetensors_interop.py, so each side can check files
// written by the other without exchanging expected values.
//
// Name:  "t<k>.<DTYPE>.<d0>x<d1>..." or "t<k>.<DTYPE>.scalar" (shape []).
// Value: b = (7 i + 13 k) mod 251 for the i-th element (row-major); then
//        floats (b - 125) / 4, I8 b - 125, I16 (b - 125) 257, I32 (b - 125) 16777259,
//        I64 (b - 125) 70000000000000001, U8 b, U16 257 b, U32 17000000 b,
//        U64 73000000000000003 b, BOOL b mod 3 == 0. All exact in every dtype.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "weights/safetensors.h"

namespace hemo::safetensors::testing {

inline std::string shape_text(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

inline std::string tensor_name(int k, DType dt, const std::vector<int64_t>& shape) {
  std::string s = "t";
  s += std::to_string(k);
  s += '.';
  s += dtype_name(dt);
  s += '.';
  s += shape_text(shape);
  return s;
}

// Exact float -> IEEE half for values that a half represents exactly (normal or zero).
inline uint16_t exact_half(float v) {
  const uint32_t f = std::bit_cast<uint32_t>(v);
  const uint32_t sign = (f >> 16) & 0x8000u;
  if ((f & 0x7FFFFFFFu) == 0) return static_cast<uint16_t>(sign);
  const int exp = static_cast<int>((f >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0 || exp >= 31 || (f & 0x1FFFu) != 0) throw std::logic_error("not exact in F16");
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | ((f >> 13) & 0x3FFu));
}

template <class T>
inline void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

// The bytes of tensor k (dtype dt, numel n) under the formula above.
inline std::vector<uint8_t> formula_bytes(int k, DType dt, int64_t n) {
  std::vector<uint8_t> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t b = (7 * i + 13 * k) % 251, s = b - 125;
    const float f = static_cast<float>(s) / 4.0f;
    switch (dt) {
      case DType::F64: put(out, static_cast<double>(s) / 4.0); break;
      case DType::F32: put(out, f); break;
      case DType::F16: put(out, exact_half(f)); break;
      case DType::BF16: put(out, static_cast<uint16_t>(std::bit_cast<uint32_t>(f) >> 16)); break;
      case DType::I8: put(out, static_cast<int8_t>(s)); break;
      case DType::I16: put(out, static_cast<int16_t>(s * 257)); break;
      case DType::I32: put(out, static_cast<int32_t>(s * 16777259)); break;
      case DType::I64: put(out, static_cast<int64_t>(s * 70000000000000001LL)); break;
      case DType::U8: put(out, static_cast<uint8_t>(b)); break;
      case DType::U16: put(out, static_cast<uint16_t>(b * 257)); break;
      case DType::U32: put(out, static_cast<uint32_t>(b * 17000000)); break;
      case DType::U64: put(out, static_cast<uint64_t>(b) * 73000000000000003ULL); break;
      case DType::BOOL: put(out, static_cast<uint8_t>(b % 3 == 0)); break;
    }
  }
  return out;
}

inline Entry formula_entry(int k, DType dt, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return Entry{tensor_name(k, dt, shape), dt, shape, formula_bytes(k, dt, n)};
}

// Checks one tensor of a file against its name; returns "" or what is wrong.
inline std::string check_formula_tensor(const File& f, const TensorInfo& t) {
  const std::string prefix = "t";
  const size_t dot1 = t.name.find('.'), dot2 = t.name.find('.', dot1 + 1);
  if (t.name.rfind(prefix, 0) != 0 || dot1 == std::string::npos || dot2 == std::string::npos)
    return t.name + ": name does not follow t<k>.<DTYPE>.<shape>";
  const int k = std::stoi(t.name.substr(1, dot1 - 1));
  if (t.name.substr(dot1 + 1, dot2 - dot1 - 1) != dtype_name(t.dtype))
    return t.name + ": dtype read as " + std::string(dtype_name(t.dtype));
  if (t.name.substr(dot2 + 1) != shape_text(t.shape))
    return t.name + ": shape read as " + shape_text(t.shape);
  const auto got = f.bytes(t.name);
  const auto want = formula_bytes(k, t.dtype, t.numel());
  if (got.size() != want.size() || !std::equal(want.begin(), want.end(), got.begin()))
    return t.name + ": data differs from the formula";
  return "";
}

}  // namespace hemo::safetensors::testing
