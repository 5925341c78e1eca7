// Advice for a run that did not learn. A first run on a small dataset (pbc-mini's 140 training
// images) can end with validation accuracy at chance, which looks like a broken tool; the trainer
// then says so and suggests what to change, instead of leaving the user to guess.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config.h"

namespace hemo::train {

// "" when the run learned: its best validation accuracy (over `history`, TrainState's per-epoch
// records) beat the accuracy m of always predicting the validation split's most frequent class by
// more than chance would, max(0.05, 2 sqrt(m (1 - m) / n)) on n validation images. Otherwise a message with both numbers and settings to try, chosen by
// `config` (dropout still on, few epochs, no pretrained weights, the learning rate's size).
// val_labels: the validation split's labels; train_images: the training split's size.
std::string not_learning_hint(const nlohmann::json& history, const std::vector<int64_t>& val_labels,
                              int64_t num_classes, int64_t train_images, const TrainConfig& config);

}  // namespace hemo::train
