// SqueezeNet 1.0 and 1.1, as torchvision.models.squeezenet1_0 / squeezenet1_1 (Iandola et al.
// 2016; 1.1 is the SqueezeNet repository's cheaper revision: a 3x3/64 stem and earlier pools).
//
// Fire(in, s, e1, e3): squeeze = Conv 1x1 in->s + ReLU, then two expand branches on its output,
// Conv 1x1 s->e1 + ReLU and Conv 3x3 pad 1 s->e3 + ReLU, joined along channels (e1 + e3 out;
// nn::concat_channels).
// `features`: 1.0: Conv 7x7/2 3->96, ReLU, MaxPool 3/2 ceil, Fire(96,16,64,64), Fire(128,16,64,64),
//   Fire(128,32,128,128), MaxPool, Fire(256,32,128,128), Fire(256,48,192,192),
//   Fire(384,48,192,192), Fire(384,64,256,256), MaxPool, Fire(512,64,256,256);
//   1.1: Conv 3x3/2 3->64, ReLU, MaxPool, Fire(64,16,64,64), Fire(128,16,64,64), MaxPool,
//   Fire(128,32,128,128), Fire(256,32,128,128), MaxPool, Fire(256,48,192,192),
//   Fire(384,48,192,192), Fire(384,64,256,256), Fire(512,64,256,256) (every MaxPool 3/2 ceil).
// `classifier`: Dropout, Conv 1x1 512->num_classes (the head, classifier.1: a convolution, not a
//   Linear), ReLU, adaptive average pool to 1x1; flattened to [N, num_classes].
// Initialization as torchvision's: kaiming_uniform_ (default gain) on every convolution but the
// head, normal(0, 0.01) on the head, zero biases.
// Smallest input: 21x21 for 1.0 (conv 8, pools 4, 2, 1), 17x17 for 1.1 (conv 8, pools 4, 2, 1).
#pragma once
#include <cstdint>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class Fire : public nn::Module, public Traceable {
 public:
  Fire(int64_t in, int64_t squeeze, int64_t expand1x1, int64_t expand3x3, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Fire"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;

  nn::ModulePtr squeeze_, squeeze_activation, expand1x1_, expand1x1_activation, expand3x3_, expand3x3_activation;
};

class SqueezeNet : public nn::Module, public Traceable {
 public:
  // version: "1_0" or "1_1".
  SqueezeNet(const std::string& version, int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SqueezeNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  static constexpr const char* kLastFire = "features.12";  // the last Fire module, for Grad-CAM

  std::shared_ptr<nn::Sequential> features, classifier;
};

}  // namespace hemo::models
