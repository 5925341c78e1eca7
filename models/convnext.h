// ConvNeXt Tiny, Small and Base, as torchvision.models.convnext_* (Liu et al. 2022).
//
// CNBlock(dim): `block` = 0: depthwise Conv 7x7 pad 3 (bias), 2: LayerNorm(dim, eps 1e-6) over the
//   channels, 3: Linear dim -> 4 dim, 4: GELU (exact), 5: Linear 4 dim -> dim, the Linears applied
//   at every position over the channels (torchvision's Permute at 1 and 6 only reorders the
//   dimensions for them: hemo stays NCHW, so there is nothing at 1 and 6); then
//   y = input + StochasticDepth(layer_scale * block(input)), layer_scale a [dim, 1, 1] parameter
//   (1e-6 at construction) applied per channel.
// `features`: 0: stem = Conv 4x4/4 3 -> C0 (bias) + LayerNorm(C0); then per stage i the CNBlocks
//   (features.1, .3, .5, .7) and between stages a downsample (features.2, .4, .6) = LayerNorm(Ci)
//   + Conv 2x2/2 Ci -> Ci+1 (bias). avgpool: adaptive to 1x1; `classifier`: 0: LayerNorm(C3),
//   1: Flatten, 2: Linear C3 -> num_classes (the head).
//   tiny: C = 96, 192, 384, 768, blocks 3, 3, 9, 3, stochastic depth 0.1;
//   small: blocks 3, 3, 27, 3, 0.4;  base: C = 128, 256, 512, 1024, blocks 3, 3, 27, 3, 0.5.
//   Block j of the J blocks (counted over all stages from 0) drops with p = p_max j / (J - 1).
// Initialization as torchvision's: trunc_normal_(std 0.02) on every Conv2d and Linear weight, zero
// biases; LayerNorms 1 and 0.
// Smallest input: 32x32 (stem 8, downsamples 4, 2, 1).
#pragma once
#include <cstdint>
#include <string>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class CNBlock : public nn::Module, public Traceable {
 public:
  CNBlock(int64_t dim, double layer_scale_init, double stochastic_depth_prob, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "CNBlock"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;

  Tensor layer_scale;  // [dim, 1, 1]
  std::shared_ptr<nn::Sequential> block;
  nn::ModulePtr stochastic_depth;
  int64_t dim;
};

class ConvNeXt : public nn::Module, public Traceable {
 public:
  // variant: "tiny", "small" or "base"; stochastic_depth: the last block's drop probability (the
  // others scale down linearly), negative for torchvision's (0.1, 0.4, 0.5).
  ConvNeXt(const std::string& variant, int64_t num_classes, double stochastic_depth, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvNeXt"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  static constexpr const char* kLastStage = "features.7";  // the last stage's blocks, for Grad-CAM

  std::shared_ptr<nn::Sequential> features, classifier;
  nn::ModulePtr avgpool;
};

}  // namespace hemo::models
