// Typed options: every choice a command line or a config file names (a device, a precision, an
// optimizer, ...) is an enum with ONE table of its names, OptionNames<E>, from which come its one
// parser and its one printer. A bad name is always the same hemo::Error, naming the option and
// listing the valid names: "--device 'tpu' is not one of cpu, cuda, auto". config.json and
// checkpoints store the names, so files stay readable as they were when the fields were strings.
//
// A new enum: specialize OptionNames<E> with `option` (its flag, for messages) and `names` (every
// value with its name, the default first by convention). train/options.h has the training ones.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/storage.h"

namespace hemo {

template <class E>
struct OptionNames;  // specialize: static constexpr std::string_view option; static constexpr std::array names

template <class E>
concept NamedOption = requires { OptionNames<E>::names; OptionNames<E>::option; };

// "a, b, c": the valid names, in table order.
template <NamedOption E>
std::string option_list() {
  std::string out;
  for (const auto& [value, name] : OptionNames<E>::names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

template <NamedOption E>
std::vector<std::string> option_names() {
  std::vector<std::string> out;
  for (const auto& [value, name] : OptionNames<E>::names) out.emplace_back(name);
  return out;
}

template <NamedOption E>
E parse_option(std::string_view text) {
  for (const auto& [value, name] : OptionNames<E>::names)
    if (name == text) return value;
  throw Error(cat(OptionNames<E>::option, " '", text, "' is not one of ", option_list<E>()));
}

template <NamedOption E>
std::string_view option_name(E value) {
  for (const auto& [v, name] : OptionNames<E>::names)
    if (v == value) return name;
  throw Error(cat(OptionNames<E>::option, ": no name for value ", static_cast<int>(value)));
}

// --device: a choice to resolve into a Device (core/storage.h: resolve_device).
enum class DeviceChoice : uint8_t { cpu, cuda, auto_ };
template <>
struct OptionNames<DeviceChoice> {
  static constexpr std::string_view option = "--device";
  static constexpr std::array<std::pair<DeviceChoice, std::string_view>, 3> names{
      {{DeviceChoice::cpu, "cpu"}, {DeviceChoice::cuda, "cuda"}, {DeviceChoice::auto_, "auto"}}};
};
// The Device for a choice: an Error naming --device when CUDA is asked for and there is none.
inline Device resolve(DeviceChoice choice) { return resolve_device(std::string(option_name(choice))); }

// --precision: the arithmetic of convolutions and matrix products (kernels/precision.h says what
// each means and sets it): fp32, tf32 (CUDA tensor cores; the commands' default), bf16. The
// enum's zero value stays fp32, the arithmetic of configurations written before the option.
enum class Precision : uint8_t { fp32, tf32, bf16 };
template <>
struct OptionNames<Precision> {
  static constexpr std::string_view option = "--precision";
  static constexpr std::array<std::pair<Precision, std::string_view>, 3> names{
      {{Precision::fp32, "fp32"}, {Precision::tf32, "tf32"}, {Precision::bf16, "bf16"}}};
};

}  // namespace hemo
