// EfficientNet B0 to B7 (Tan and Le 2019), as torchvision.models.efficientnet_b*.
//
// MBConv(in, out, expand e, kernel k, stride s): `block` = [1x1 ConvBNSiLU in -> e in, when e != 1,]
//   depthwise ConvBNSiLU k x k / s, SqueezeExcitation(e in, max(1, in / 4); SiLU, Sigmoid),
//   1x1 ConvBN e in -> out; when s = 1 and in = out, y = x + StochasticDepth(block(x)).
// The B0 table (expand, kernel, stride, in, out, layers): (1,3,1,32,16,1) (6,3,2,16,24,2)
//   (6,5,2,24,40,2) (6,3,2,40,80,3) (6,5,1,80,112,3) (6,5,2,112,192,4) (6,3,1,192,320,1); Bn
//   scales channels by width w (make_divisible(c w, 8)) and layers by depth d (ceil(n d)):
//   b0 (1.0, 1.0) b1 (1.0, 1.1) b2 (1.1, 1.2) b3 (1.2, 1.4) b4 (1.4, 1.8) b5 (1.6, 2.2)
//   b6 (1.8, 2.6) b7 (2.0, 3.1); classifier dropout 0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5.
//   Block j of the J blocks drops with p = 0.2 j / J (torchvision's stochastic_depth_prob 0.2).
// `features`: 0: ConvBNSiLU 3x3/2 3 -> c0; 1..7: the stages (the first block of each takes its
//   stride and input channels); 8: ConvBNSiLU 1x1 -> 4 x the last stage's channels. avgpool:
//   adaptive to 1x1; `classifier`: Dropout, Linear (the head, classifier.1).
// BatchNorm: eps 1e-5, momentum 0.1; b5, b6, b7: eps 0.001, momentum 0.01 (as torchvision).
// Initialization as torchvision's: convolutions kaiming_normal_(fan_out) with zero bias, BN 1 and 0,
// the Linear uniform(+-1 / sqrt(num_classes)) with zero bias.
// Smallest input: 32x32 (five stride-2 stages: the last map is 1x1).
#pragma once
#include <cstdint>
#include <string>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

struct MBConvConfig {
  int64_t expand, kernel, stride, in, out;
};

class MBConv : public nn::Module, public Traceable {
 public:
  MBConv(const MBConvConfig& c, double stochastic_depth_prob, double bn_eps, double bn_momentum, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MBConv"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;

  std::shared_ptr<nn::Sequential> block;
  nn::ModulePtr stochastic_depth;
  bool use_res_connect;
};

class EfficientNet : public nn::Module, public Traceable {
 public:
  // variant: "b0" ... "b7"; dropout and stochastic_depth negative for torchvision's.
  EfficientNet(const std::string& variant, int64_t num_classes, double dropout, double stochastic_depth, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "EfficientNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  static constexpr const char* kLastFeature = "features.8";  // the 1x1 ConvBNSiLU, for Grad-CAM

  std::shared_ptr<nn::Sequential> features, classifier;
  nn::ModulePtr avgpool;
};

}  // namespace hemo::models
