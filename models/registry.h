// The model zoo by name: torchvision's architectures (module trees and parameter names identical
// to torchvision's, so a converted state_dict loads key for key) and pbcnet7, the 7-block CNN of
// source paper 003 (../shared/docs/RECIPES.md).
//
// Names: alexnet, vgg11 vgg13 vgg16 vgg19 (+ _bn), resnet18 resnet34 resnet50 resnet101 resnet152,
// wide_resnet50_2 wide_resnet101_2, resnext50_32x4d resnext101_32x8d resnext101_64x4d,
// densenet121 densenet161 densenet169 densenet201, squeezenet1_0 squeezenet1_1, mobilenet_v2, mobilenet_v3_small mobilenet_v3_large, pbcnet7.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

struct ModelOptions {
  int64_t input_size = 0;   // 0: the model's default; pbcnet7's flatten size depends on it
  double dropout = -1;      // < 0: the architecture's default (torchvision's, or 0.25 for pbcnet7)
  // ConvNeXt, EfficientNet: the deepest block's drop probability (< 0: torchvision's); > 0 on
  // another model is an error.
  double stochastic_depth = -1;
  bool memory_efficient = true;  // DenseNet: checkpointed concatenations (models/densenet.h)
  int64_t pool_stride = 2;  // pbcnet7 only: the stride of its 2x2 max-pools (the paper says 1)
  bool init_weights = true; // false: zero weights (nn::NoInitGuard), for weights loaded next or `hemo info`
};

struct ModelSpec {
  std::string name;
  std::string family;             // "alexnet", "vgg", "resnet", "densenet", "squeezenet", "googlenet", "inception", "convnext", "efficientnet", "mobilenet_v2", "mobilenet_v3", "pbcnet7"
  int64_t default_input = 224;    // side of the square input it was designed for
  std::string head;               // dotted name of the classifier replaced for transfer learning
  std::string gradcam_layer;      // default Grad-CAM target module (dotted name)
  std::function<nn::ModulePtr(int64_t num_classes, const ModelOptions&, Generator&)> make;
};

// Throws hemo::Error for an unknown name, listing the known ones.
// create_model: a freshly initialized model in training mode, initialized as torchvision
// initializes it, drawing from `gen` (only at construction: Dropout layers draw their masks from
// default_generator(), whose state the trainer checkpoints).
const ModelSpec& model_spec(const std::string& name);
std::vector<std::string> model_names();
nn::ModulePtr create_model(const std::string& name, int64_t num_classes, const ModelOptions& opt, Generator& gen);
// The checks create_model makes before building anything (an unknown name, a dropout above 1,
// stochastic depth on a model without it), for callers that want them before slow work.
void validate_options(const std::string& name, const ModelOptions& opt);

}  // namespace hemo::models
