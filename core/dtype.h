// Element types and devices. float32 is the training type everywhere; float64 exists on the CPU so
// gradient checks can use finite differences without drowning in rounding error; bfloat16
// (core/bf16.h) is a storage type: tensors of it can be made, copied and converted (Tensor::to),
// and an op without a bfloat16 implementation says so (nn/dispatch.h) rather than guessing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bf16.h"

namespace hemo {

enum class DType : uint8_t { f32, f64, bf16 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
  }
  return 0;
}
constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<bf16>() { return DType::bf16; }

enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

}  // namespace hemo
