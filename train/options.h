// The training choices as typed options (core/options.h: one table of names per enum, one
// parser, one error listing the valid names). TrainConfig (train/config.h) carries these enums;
// config.json and checkpoints store their names (to_json/from_json below).
#pragma once
#include <nlohmann/json.hpp>

#include "core/options.h"
#include "train/schedule.h"

namespace hemo::train {

enum class OptimizerKind : uint8_t { sgd, adam, adamw };
// The metric that picks the best epoch (and early stopping's patience counts against).
enum class Monitor : uint8_t { val_acc, val_loss };
using ScheduleKind = Schedule::Kind;

}  // namespace hemo::train

namespace hemo {

template <>
struct OptionNames<train::OptimizerKind> {
  static constexpr std::string_view option = "--optimizer";
  static constexpr std::array<std::pair<train::OptimizerKind, std::string_view>, 3> names{
      {{train::OptimizerKind::sgd, "sgd"}, {train::OptimizerKind::adam, "adam"}, {train::OptimizerKind::adamw, "adamw"}}};
};

template <>
struct OptionNames<train::Monitor> {
  static constexpr std::string_view option = "--monitor";
  static constexpr std::array<std::pair<train::Monitor, std::string_view>, 2> names{
      {{train::Monitor::val_acc, "val_acc"}, {train::Monitor::val_loss, "val_loss"}}};
};

template <>
struct OptionNames<train::ScheduleKind> {
  static constexpr std::string_view option = "--schedule";
  static constexpr std::array<std::pair<train::ScheduleKind, std::string_view>, 3> names{
      {{train::ScheduleKind::constant, "constant"}, {train::ScheduleKind::step, "step"},
       {train::ScheduleKind::cosine, "cosine"}}};
};

}  // namespace hemo

namespace hemo {

// A typed option in JSON is its name; reading a bad name is the option's Error.
template <NamedOption E>
void to_json(nlohmann::json& j, E value) {
  j = std::string(option_name(value));
}
template <NamedOption E>
void from_json(const nlohmann::json& j, E& value) {
  value = parse_option<E>(j.get<std::string>());
}

}  // namespace hemo

namespace hemo::train {
using hemo::from_json;  // found by argument-dependent lookup for the enums above
using hemo::to_json;
}  // namespace hemo::train
