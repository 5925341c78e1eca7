// Learning-rate schedules, as a function of (fractional) epoch so they can be stepped per batch
// or per epoch and restored from a checkpoint by the epoch alone.
//   constant:           lr(e) = base
//   step (StepLR):      lr(e) = base * gamma^floor(e / step_size)     paper 002: 7 epochs, x0.1
//   cosine with warmup: linear from base*warmup_start to base over warmup epochs, then
//                       base_min + (base - base_min) * (1 + cos(pi * t)) / 2, t = progress after warmup
// The kinds' names ("constant", "step", "cosine") and their parser: train/options.h.
#pragma once
#include <string>

namespace hemo::train {

struct Schedule {
  enum class Kind { constant, step, cosine } kind = Kind::constant;
  double base_lr = 1e-3;
  double step_size = 7, gamma = 0.1;              // step
  double warmup_epochs = 0, warmup_start = 0.01;  // cosine
  double total_epochs = 1, min_lr = 0;            // cosine
  double lr_at(double epoch) const;
};

}  // namespace hemo::train
