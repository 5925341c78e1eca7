#include "train/hints.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hemo::train {

std::string not_learning_hint(const nlohmann::json& history, const std::vector<int64_t>& val_labels,
                              int64_t num_classes, int64_t train_images, const TrainConfig& config) {
  if (history.empty() || val_labels.empty() || num_classes < 2) return "";
  double best = 0;
  for (const auto& h : history) best = std::max(best, h.value("val_acc", 0.0));
  std::vector<int64_t> count(static_cast<size_t>(num_classes), 0);
  for (int64_t y : val_labels)
    if (y >= 0 && y < num_classes) ++count[static_cast<size_t>(y)];
  const double majority =
      static_cast<double>(*std::max_element(count.begin(), count.end())) / static_cast<double>(val_labels.size());
  // Beating the majority class by less than two binomial standard deviations of an accuracy
  // measured on n images (or 5 points) is chance: pbc-mini's 40 validation images at 1/8 allow
  // 0.125 + 0.105.
  const double n = static_cast<double>(val_labels.size());
  const double margin = std::max(0.05, 2 * std::sqrt(majority * (1 - majority) / n));
  if (best > majority + margin) return "";
  std::vector<std::string> tries;
  if (config.dropout != 0) tries.push_back("--dropout 0 (the model's dropout slows a short run on few images down)");
  if (config.epochs < 30) tries.push_back(cat("more epochs (--epochs 30; ", history.size(), " ran)"));
  if (config.pretrained.empty()) tries.push_back("a --pretrained model (docs/training.md)");
  tries.push_back(config.lr >= 1e-2 ? "a lower --lr (1e-3)" : config.lr < 1e-4 ? "a higher --lr (1e-3)" : "--lr 3e-4 or 3e-3");
  std::string list;
  for (const std::string& t : tries) list += cat(list.empty() ? "" : "; ", t);
  return cat("hint: the model has not learned yet: its best validation accuracy, ", best,
             ", is no better than always answering the most frequent class (", majority, "). With ", train_images,
             " training images, try: ", list, ".");
}

}  // namespace hemo::train
