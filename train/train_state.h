// TrainState: what a checkpoint must hold, beyond the model's and the optimizer's tensors, for a
// run to resume exactly where it stopped. It serializes itself to the JSON of the checkpoint's
// "hemo.train_state" metadata (train/checkpoint.h) from ONE list of fields (train_state.cpp), so
// reading and writing cannot drift apart; the names are those checkpoints have always used, so
// files written before this type existed still load (tests/train/old_checkpoint_test.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "tensor/rng.h"
#include "train/options.h"

namespace hemo::train {

// Where an epoch interrupted part way (train/interrupt.h) stands: the optimizer steps taken in it
// and the sums its training metrics had reached, so a resumed run finishes that epoch exactly as
// the uninterrupted run would have. All zero at an epoch boundary.
struct PartialEpoch {
  int64_t steps = 0;    // batches of epoch `TrainState::epoch + 1` already trained on
  double loss_sum = 0;  // sum over those batches of loss x batch images
  int64_t correct = 0, seen = 0;
  double seconds = 0;   // time spent on them
};

struct TrainState {
  int epoch = -1;                 // the last completed epoch, from 0; -1 before the first
  int64_t step = 0;               // optimizer steps taken so far, over all epochs (0 in checkpoints
                                  // written before the field existed)
  int best_epoch = -1;            // the epoch of the best monitored value so far; -1: none yet
  double best_value = 0;
  int stale = 0;                  // epochs since the best one
  Monitor monitor = Monitor::val_acc;
  std::string optimizer;          // Optimizer::name() of the run, for the record
  Generator::State dropout_rng{}, init_rng{};  // default_generator() and the initialization stream
  std::string manifest_hash;      // train/checkpoint.h: manifest_hash of the split trained on
  nlohmann::json history = nlohmann::json::array();  // per epoch: to_json(EpochRecord)
  nlohmann::json config;          // the resolved TrainConfig, for the record
  PartialEpoch partial{};         // an interrupted epoch's progress (absent in older checkpoints: none)
  int nonfinite_skipped = 0;      // steps skipped under --skip-nonfinite so far (older checkpoints: 0)

  // Is `value` of the monitored metric better than the best so far (always, before the first)?
  bool improves(double value) const;
  // Records a completed epoch's monitored value: best and stale updated. Returns improves(value).
  bool record(int completed_epoch, double value);

  nlohmann::json to_json() const;
  // An Error naming `origin` when a field is missing or malformed.
  static TrainState from_json(const nlohmann::json& j, const std::string& origin);
};

}  // namespace hemo::train
