// Running a model over a data split without gradients: predictions, class probabilities and the
// mean cross-entropy, for validation during training, `hemo eval`, `hemo predict` and ensembles.
#pragma once
#include <string>
#include <vector>

#include "data/loader.h"
#include "nn/module.h"

namespace hemo::train {

struct Predictions {
  std::vector<std::string> paths;               // per image (the source's describe())
  std::vector<int64_t> truth, predicted;        // class indices
  std::vector<std::vector<float>> probabilities;  // per image, softmax over classes
  double loss = 0;                              // mean cross-entropy against truth
  double accuracy() const;
};

// Batch -> float32 NCHW tensor on `device` (one host copy).
Tensor batch_tensor(const data::Batch& batch, Device device);

// Evaluates `model` (switched to eval mode, then restored) on every batch of the loader's epoch 0.
// `progress_label` non-empty shows a progress bar.
Predictions predict(nn::Module& model, data::Loader& loader, Device device, const std::string& progress_label = "");

// Combines several models' predictions of the same images: majority vote of the predicted
// classes, ties broken by the highest mean probability (paper 002), or the class of the highest
// mean probability. Probabilities of the result are the mean probabilities either way.
enum class EnsembleRule { vote, mean };
Predictions ensemble(const std::vector<Predictions>& members, EnsembleRule rule);

}  // namespace hemo::train

namespace hemo::train {
struct Checkpoint;
// Builds the checkpoint's architecture and loads its weights (strict), in eval mode, on `device`.
nn::ModulePtr model_from_checkpoint(const Checkpoint& ckpt, Device device);
// An eval-mode loader over `samples` with the checkpoint's input size and normalization.
}  // namespace hemo::train
