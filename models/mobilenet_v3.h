// MobileNetV3-Small and -Large (Howard et al. 2019), as torchvision.models.mobilenet_v3_* with
// width 1.0: `features` = ConvBNHardswish(3, 16, stride 2), the bottleneck blocks of the paper's
// tables 1 and 2 (each `block`: [1x1 expand ConvBNAct,] depthwise ConvBNAct (3x3 or 5x5),
// [squeeze-excitation,] 1x1 projection ConvBN; a residual addition when the stride is 1 and the
// channels are kept), ConvBNHardswish to 6x the last block's channels; `avgpool`; `classifier` =
// Linear, Hardswish, Dropout(0.2), Linear(., num_classes) (the head is classifier.3).
// Every BatchNorm has eps 0.001 and momentum 0.01, as torchvision. Initialization as
// torchvision: convolutions kaiming_normal_(fan_out) with zero bias, BN 1/0, Linear
// normal(0, 0.01) with zero bias.
#pragma once
#include <cstdint>
#include <memory>

#include "kernels/activation.h"
#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

// torchvision.ops.SqueezeExcitation, with MobileNetV3's ReLU and Hardsigmoid by default
// (EfficientNet: SiLU and Sigmoid):
//   y = x * scale_activation(fc2(activation(fc1(avgpool(x)))))   (fc1, fc2: 1x1 convolutions with bias)
class SqueezeExcitation : public nn::Module, public Traceable {
 public:
  SqueezeExcitation(int64_t channels, int64_t squeeze, Generator& gen, Activation act = Activation::relu,
                    Activation scale_act = Activation::hardsigmoid);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SqueezeExcitation"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Module> avgpool, fc1, fc2, activation, scale_activation;
};

// One row of the paper's table: input, kernel, expanded, output channels, SE, hardswish, stride.
struct BneckConfig {
  int64_t in, kernel, expanded, out;
  bool se, hardswish;
  int64_t stride;
};

class InvertedResidualV3 : public nn::Module, public Traceable {
 public:
  InvertedResidualV3(const BneckConfig& c, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InvertedResidual"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Sequential> block;
  bool use_res_connect;
};

class MobileNetV3 : public nn::Module, public Traceable {
 public:
  MobileNetV3(bool large, int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MobileNetV3"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  // Index in `features` of the last ConvBNHardswish (the last convolutional feature map).
  static int64_t last_feature_index(bool large);
  std::shared_ptr<nn::Sequential> features, classifier;
  std::shared_ptr<nn::Module> avgpool;
};

}  // namespace hemo::models
