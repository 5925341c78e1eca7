// Checkpoints: one safetensors file holding the model's state_dict under its own names (so a
// checkpoint is also a weights file for `hemo forward`, `hemo predict` and hemo-infer) and the
// optimizer's buffers under "optimizer.<name>", with metadata:
//   architecture, num_classes, class_names (JSON list), input_size, mean, std (JSON lists)
//   hemo.train_state   JSON of train/train_state.h's TrainState: epoch, best epoch and value,
//                      optimizer name, RNG states, manifest hash, per-epoch history, the resolved
//                      configuration
// Writing is crash-safe (temporary file, fsync, rename; safetensors::save): a crash or kill at
// any moment leaves the previous checkpoint at `path` loadable.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_file.h"
#include "nn/module.h"
#include "train/optim.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

namespace hemo::train {

using ModelMeta = weights::ModelMeta;  // the self-describing metadata (weights/model_meta.h)

void save_checkpoint(const std::string& path, const nn::Module& model, const ModelMeta& meta,
                     const Optimizer* optimizer = nullptr, const nlohmann::json& train_state = {});

// A model file (models/model_file.h: meta, model tensors, optimizer buffers without the
// "optimizer." prefix, path) and its training state.
struct Checkpoint : models::ModelFile {
  nlohmann::json train_state;  // null when the file holds only weights
};

// Opens the file as models::read_model_file does (with the optimizer buffers).
Checkpoint load_checkpoint(const std::string& path);

// A short fingerprint of a split manifest's CSV text (64-bit FNV-1a, 16 hex digits): a resumed run
// checks it so that it never continues on other images.
std::string manifest_hash(const std::string& manifest_csv);

// An Error unless the checkpoint was made for this architecture and class count.
void check_matches(const Checkpoint& ckpt, const std::string& architecture, int64_t num_classes);

}  // namespace hemo::train
