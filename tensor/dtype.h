// Element types and devices. float32 is the training type everywhere; float64 exists on the CPU so
// gradient checks can use finite differences without drowning in rounding error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hemo {

enum class DType : uint8_t { f32, f64 };

constexpr size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 8; }
constexpr const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "float64"; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }

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
