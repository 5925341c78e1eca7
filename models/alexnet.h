// AlexNet, as torchvision.models.alexnet (Krizhevsky et al. 2012, the one-GPU variant of
// Krizhevsky 2014 that torchvision implements): `features` (Conv 11x11/4 pad 2 -> 64, ReLU,
// MaxPool 3/2; Conv 5x5 pad 2 -> 192, ReLU, MaxPool 3/2; Conv 3x3 pad 1 -> 384, 256, 256 with
// ReLUs; MaxPool 3/2), `avgpool` (adaptive to 6x6), `classifier` (Dropout, Linear 9216-4096, ReLU,
// Dropout, Linear 4096-4096, ReLU, Linear 4096-num_classes; the head is classifier.6).
// Initialization: PyTorch's layer defaults (torchvision sets none of its own). The smallest input
// is 63x63 (conv1 15x15, the three pools 7, 3, 1; the adaptive pool then repeats the 1x1 map).
#pragma once
#include <cstdint>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class AlexNet : public nn::Module, public Traceable {
 public:
  AlexNet(int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AlexNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  static constexpr const char* kLastActivation = "features.11";  // conv5's ReLU, for Grad-CAM

  std::shared_ptr<nn::Sequential> features, classifier;
  std::shared_ptr<nn::Module> avgpool;
};

}  // namespace hemo::models
