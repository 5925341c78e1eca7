// A hemo model file, loaded for inference only: a thin layer over models/model_file.h, the one
// way every command opens a model file.
//
// load_inference_model(path, device) opens the file (models::read_model_file: a checkpoint's
// optimizer state, "optimizer.*", is skipped unread), checks that this build knows its
// architecture, builds it with the file's class count, input size and pool stride, loads every
// model tensor strictly and prepares it for inference (models::build_model with Prepare::fold:
// batch norms folded into convolutions, dropouts removed, nothing requires grad; `fold` false
// keeps the tree as trained, in eval mode, Prepare::frozen) on `device`.
// Every failure is a hemo::Error whose message starts with the path and says what is wrong: no
// such file, not a safetensors file (or a damaged one), not a hemo model file (metadata missing),
// an architecture this build does not know, tensors missing or of the wrong shape.
//
// classify(model, image_path): the image's class probabilities (softmax of the logits), through
// the evaluation transform of the file (data::TransformSpec::eval of its ModelMeta): the same code `hemo predict`
// and training's validation run, so their outputs agree.
#pragma once
#include <string>
#include <vector>

#include "data/transforms.h"
#include "data/tta.h"
#include "models/inference.h"
#include "nn/module.h"
#include "weights/model_meta.h"

namespace hemo::infer {

struct InferenceModel {
  std::string path;
  weights::ModelMeta meta;
  nn::ModulePtr module;
  models::InferenceReport report;  // zero counts when not folded
  Device device = Device::cpu();
  data::TransformSpec transform;   // evaluation transform at meta.input_size, meta.mean/std
  MemoryFormat format = MemoryFormat::contiguous;  // how image_input stores the batch (channels-last: NHWC)
};

InferenceModel load_inference_model(const std::string& path, Device device = Device::cpu(), bool fold = true);

// Image path -> the [1, 3, S, S] float32 input on the model's device, in its format. Throws hemo::Error naming
// the image for a missing, unreadable or undecodable file.
Tensor image_input(const InferenceModel& model, const std::string& image_path);
// A host [N, 3, S, S] batch moved to the model's device and stored in its format.
Tensor input_for(const InferenceModel& model, const Tensor& batch);

// The image's class probabilities on the host: the softmax of its logits, or with test-time
// augmentation (data/tta.h) the mean of the softmax over its views (one forward pass of a batch
// of the 4 or 8 views), averaged in double in view order as `hemo predict --tta` does.
std::vector<float> classify(InferenceModel& model, const std::string& image_path, data::Tta tta = data::Tta::none);

}  // namespace hemo::infer
