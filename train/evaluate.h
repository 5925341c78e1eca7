// Running a model over a data split without gradients: predictions, class probabilities and the
// mean cross-entropy, for validation during training, `hemo eval`, `hemo predict` and ensembles.
#pragma once
#include <string>
#include <vector>

#include "data/loader.h"
#include "nn/module.h"
#include "train/predictions.h"
#include "data/tta.h"

namespace hemo::train {

// Batch -> float32 NCHW tensor on `device` (one copy, host to device when it is a GPU).
// The batch on `device` in `format` (the loader assembles NCHW; channels-last is one copy more).
Tensor batch_tensor(const data::Batch& batch, Device device, MemoryFormat format = MemoryFormat::contiguous);

// The loader allocator for batches bound for `device`: page-locked host memory for a CUDA device
// (full-speed copies), else the loader's default (an empty function).
data::BatchAllocator batch_allocator(Device device);

// `model`'s class probabilities [n][k] for one batch (its mode as it is), averaged over the views of
// `tta` (data/tta.h); adds the batch's summed cross-entropy to loss_sum: of the logits for one
// view, of the averaged probabilities otherwise.
std::vector<std::vector<float>> batch_probabilities(nn::Module& model, const data::Batch& batch, Device device,
                                                    MemoryFormat format, data::Tta tta, double& loss_sum);

// Evaluates `model` (switched to eval mode, then restored) on every batch of the loader's epoch 0.
// `progress_label` non-empty shows a progress bar. Samples the loader skips (its on_skip) are
// simply absent from the predictions. `tta`: the probabilities averaged over the views of each
// image (data/tta.h), the loss then the cross-entropy of the averaged probabilities.
Predictions predict(nn::Module& model, data::Loader& loader, Device device, const std::string& progress_label = "",
                    MemoryFormat format = MemoryFormat::contiguous, data::Tta tta = data::Tta::none);

// A model file's architecture with its weights, in eval mode, on `device`: models/model_file.h
// (build_model) is the one way, for checkpoints too.
}  // namespace hemo::train
