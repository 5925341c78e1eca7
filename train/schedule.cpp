#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace hemo::train {

double Schedule::lr_at(double epoch) const {
  switch (kind) {
    case Kind::constant: return base_lr;
    case Kind::step: return base_lr * std::pow(gamma, std::floor(epoch / step_size));
    case Kind::cosine: {
      if (epoch < warmup_epochs)
        return base_lr * (warmup_start + (1 - warmup_start) * epoch / warmup_epochs);
      double span = std::max(total_epochs - warmup_epochs, 1e-9);
      double t = std::clamp((epoch - warmup_epochs) / span, 0.0, 1.0);
      return min_lr + (base_lr - min_lr) * (1 + std::cos(std::numbers::pi * t)) / 2;
    }
  }
  return base_lr;
}

}  // namespace hemo::train
