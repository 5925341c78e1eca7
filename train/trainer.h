// The training loop: one call runs a whole experiment from a TrainConfig and leaves a run
// directory behind:
//   config.json        the resolved configuration
//   split.csv          the split manifest (unless the data was already split, or --manifest)
//   epochs.csv         per epoch: train/val loss and accuracy, lr, images/s, seconds
//   events.out.tfevents.*   the same scalars for TensorBoard
//   last.safetensors   model + optimizer + train state after the latest epoch (for --resume)
//   best.safetensors   the best epoch by the monitored metric
//   metrics.json, metrics.csv, predictions.csv   test-split evaluation
//   report.html        curves, confusion matrix, per-class table
// A non-finite loss stops the run at that step with an Error; no checkpoint is written from it.
// On the CPU, a resumed run's per-epoch losses equal the uninterrupted run's bit for bit: batch
// order and augmentation depend only on (seed, epoch, index), and the dropout RNG, the optimizer
// and the model are restored exactly.
#pragma once
#include <functional>
#include <string>

#include "train/config.h"
#include "train/metrics.h"

namespace hemo::train {

struct TrainResult {
  int epochs_run = 0;       // epochs completed in this call (after a resume, the new ones)
  int best_epoch = -1;
  double best_value = 0;
  Metrics test;             // on the test split (or the validation split if there is no test split)
  std::string run_dir;
  std::vector<double> train_losses;  // per epoch, all epochs of the run so far
};

// `log` receives plain progress lines (default: stderr).
TrainResult run_training(const TrainConfig& config, const std::function<void(const std::string&)>& log = {});

}  // namespace hemo::train
