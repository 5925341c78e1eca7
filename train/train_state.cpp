#include "train/train_state.h"

#include <algorithm>
#include <iterator>

#include "core/error.h"
#include "train/json_shape.h"

namespace hemo {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Generator::State, seed, stream, offset, buffered)
}  // namespace hemo

namespace hemo::train {

// The one list of the checkpoint's fields: both directions are derived from it. Every field is
// required when reading, as it always was, except those added since, which from_json fills in.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PartialEpoch, steps, loss_sum, correct, seen, seconds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainState, epoch, step, best_epoch, best_value, stale, monitor, optimizer, dropout_rng,
                                   init_rng, manifest_hash, history, config, partial,
                                   nonfinite_skipped)

bool TrainState::improves(double value) const {
  if (best_epoch < 0) return true;
  return monitor == Monitor::val_loss ? value < best_value : value > best_value;
}

bool TrainState::record(int completed_epoch, double value) {
  epoch = completed_epoch;
  const bool better = improves(value);
  if (better) {
    best_epoch = completed_epoch;
    best_value = value;
    stale = 0;
  } else {
    ++stale;
  }
  return better;
}

nlohmann::json TrainState::to_json() const { return *this; }

TrainState TrainState::from_json(const nlohmann::json& j, const std::string& origin) {
  require_json_shape(j, TrainState{}.to_json(), cat(origin, ": metadata 'hemo.train_state'"));
  try {
    // Fields added since the first checkpoints: absent in older files, they take their defaults
    // (the step count 0, no interrupted epoch, no skipped step).
    static const char* const added[] = {"step", "partial", "nonfinite_skipped"};
    if (j.is_object() && !std::all_of(std::begin(added), std::end(added), [&](const char* k) { return j.contains(k); })) {
      const nlohmann::json defaults = TrainState{}.to_json();
      nlohmann::json upgraded = j;
      for (const char* key : added)
        if (!upgraded.contains(key)) upgraded[key] = defaults[key];
      return upgraded.get<TrainState>();
    }
    return j.get<TrainState>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(origin, ": metadata 'hemo.train_state' is not a training state: ", e.what()));
  }
}

}  // namespace hemo::train
