// ONNX export of a model of the zoo (`hemo export --onnx`): the module tree, walked once, becomes
// an ONNX graph whose initializers are the model's tensors under their state_dict names.
//
// Input "input" [N, 3, S, S] float32 (S: the model file's input_size; N is 1, or the symbolic
// "batch" with dynamic_batch), output "logits" [N, classes]. Each module maps to standard ONNX
// operators: Conv2d -> Conv, BatchNorm2d -> BatchNormalization (only when the model was not
// folded: models/inference.h), ReLU -> Relu, ReLU6 -> Clip(0, 6), Hardswish -> HardSwish,
// Hardsigmoid -> HardSigmoid(1/6, 1/2), Sigmoid, MaxPool2d -> MaxPool (ceil_mode kept),
// AdaptiveAvgPool2d -> GlobalAveragePool, AveragePool when the bins tile the input, else a MatMul
// with the fixed averaging matrix (VGG's 7x7 pool on small inputs), Linear -> Gemm, flatten ->
// Flatten, residual additions -> Add, squeeze-excitation scaling -> Mul; Dropout and Identity
// vanish. A module with no mapping is an Error naming it, never a silently different graph.
// Opsets 14 to 18 (HardSwish needs 14), IR version 8 (the version of Debian's onnx.proto).
//
// The model's metadata and preprocessing go into the file's metadata_props: architecture,
// num_classes, class_names (JSON), input_size, mean and std (JSON, per RGB channel of values in
// [0, 1]), and "preprocessing", the evaluation transform in words.
#pragma once
#include <cstdint>
#include <string>

#include "nn/module.h"
#include "weights/model_meta.h"

namespace hemo::onnx_export {

struct ExportOptions {
  int64_t opset = 17;
  bool dynamic_batch = false;
  std::string producer_version;  // hemo's version and commit
  std::string source;            // the checkpoint's path, for the doc string
};

struct ExportReport {
  int64_t nodes = 0, initializer_bytes = 0, batchnorms = 0;
};

// `model` in eval mode (folded or not), on the CPU. Writes `path` (through a temporary file in the
// same folder, renamed when complete); an Error names the path when it cannot be written.
ExportReport export_onnx(nn::Module& model, const weights::ModelMeta& meta, const ExportOptions& options,
                         const std::string& path);

constexpr int64_t kMinOpset = 14, kMaxOpset = 18;

}  // namespace hemo::onnx_export
