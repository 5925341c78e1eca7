// VGG-11/13/16/19 and their batch-norm variants, as torchvision.models.vgg (Simonyan & Zisserman
// 2014): `features` (3x3 'same' convolutions [+ BatchNorm] + ReLU, 2x2 max-pools), `avgpool`
// (adaptive to 7x7), `classifier` (Linear 25088-4096, ReLU, Dropout, Linear 4096-4096, ReLU,
// Dropout, Linear 4096-num_classes; the head is classifier.6). Initialization as torchvision:
// convolutions kaiming_normal_(fan_out, relu) with zero bias, BN 1/0, Linear normal(0, 0.01)
// with zero bias.
#pragma once
#include <cstdint>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class VGG : public nn::Module, public Traceable {
 public:
  // depth: 11, 13, 16 or 19.
  VGG(int depth, bool batch_norm, int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "VGG"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  // Dotted name of the last ReLU in `features` (the last convolutional feature map, for Grad-CAM).
  static std::string last_activation(int depth, bool batch_norm);

  std::shared_ptr<nn::Sequential> features, classifier;
  std::shared_ptr<nn::Module> avgpool;
};

}  // namespace hemo::models
