// MobileNetV2 (Sandler et al. 2018), as torchvision.models.mobilenet_v2 with width 1.0:
// `features` = ConvBNReLU6(3, 32, stride 2), 17 inverted residual blocks (each `conv`: [1x1
// expand ConvBNReLU6,] 3x3 depthwise ConvBNReLU6, 1x1 projection conv, BN; a residual addition
// when the stride is 1 and the channels are kept), ConvBNReLU6(320, 1280); then global average
// pooling (functional, no module) and `classifier` = Dropout(0.2), Linear(1280, num_classes)
// (the head is classifier.1). Initialization as torchvision: convolutions
// kaiming_normal_(fan_out), BN 1/0, Linear normal(0, 0.01) with zero bias.
#pragma once
#include <cstdint>
#include <memory>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class InvertedResidualV2 : public nn::Module, public Traceable {
 public:
  InvertedResidualV2(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InvertedResidual"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Sequential> conv;
  bool use_res_connect;
};

class MobileNetV2 : public nn::Module, public Traceable {
 public:
  MobileNetV2(int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MobileNetV2"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Sequential> features, classifier;
};

}  // namespace hemo::models
