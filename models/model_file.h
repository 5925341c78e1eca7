// models/model_file: the one way to open a hemo model file (a weights file, or a checkpoint of
// `hemo train`, train/checkpoint.h) for train, eval, predict, gradcam, forward and hemo-infer.
//
// read_model_file(path): the file's ModelMeta (weights/model_meta.h, pool_stride included), its
// model tensors and, when asked, a checkpoint's optimizer buffers (stored under "optimizer.<name>";
// returned without the prefix; skipped unread otherwise) and its whole metadata map. Every failure
// is a hemo::Error whose message starts with the path: no such file (and errno's text), not a
// safetensors file or a damaged one, not a hemo model file (a metadata key missing, malformed or
// out of range: weights/model_meta.h), a model tensor holding NaN or infinity.
//
// model_options(meta): what create_model needs to rebuild the file's architecture (input size,
// pool stride; no random initialization, since every weight is loaded next).
// build_model(file, device, prepare): that architecture with the file's tensors loaded strictly
// (an Error names the path and the missing/unexpected/mis-shaped keys), then, by `prepare`:
//   Prepare::eval   eval mode, as trained (train, eval, predict, gradcam);
//   Prepare::fold   models::prepare_for_inference (models/inference.h: batch norms folded,
//                   dropouts removed, nothing requires grad), hemo-infer's default;
//   Prepare::frozen eval mode and nothing requires grad, the tree as trained (hemo-infer --no-fold).
// The evaluation transform of a file is data::TransformSpec::eval(meta.input_size, meta.mean,
// meta.std) (data/transforms.h; models/ knows nothing of data).
#pragma once
#include <map>
#include <string>

#include "models/inference.h"
#include "models/registry.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

namespace hemo::models {

// train/checkpoint.h stores a checkpoint's optimizer buffers under this prefix.
inline constexpr const char* kOptimizerPrefix = "optimizer.";

struct ModelFile {
  std::string path;
  weights::ModelMeta meta;
  weights::NamedTensors model;      // the state_dict, in file order
  weights::NamedTensors optimizer;  // names without kOptimizerPrefix; empty unless asked for
  std::map<std::string, std::string> metadata;  // all of it (a checkpoint's hemo.train_state)
};

enum class WithOptimizer : bool { no, yes };
ModelFile read_model_file(const std::string& path, WithOptimizer optimizer = WithOptimizer::no);

ModelOptions model_options(const weights::ModelMeta& meta);

enum class Prepare { eval, fold, frozen };
struct BuiltModel {
  nn::ModulePtr module;
  InferenceReport report;  // zero counts unless Prepare::fold
};
BuiltModel build_model(const ModelFile& file, Device device, Prepare prepare = Prepare::eval);

}  // namespace hemo::models
