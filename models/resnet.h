// ResNet-18/34/50/101/152 and Wide ResNet-50-2/101-2 (and the grouped bottleneck of ResNeXt, not
// registered yet: tests/models/model_parity_test.cpp), as torchvision.models.resnet (He et al. 2015; the "v1.5" bottleneck with the stride on its 3x3
// convolution; Zagoruyko & Komodakis 2016 for the wide variants, whose bottleneck is twice as
// wide; Xie et al. 2017 for ResNeXt, whose 3x3 convolution is grouped). Names: conv1 bn1 relu maxpool,
// layer1..layer4 (Sequentials of blocks: conv1 bn1 conv2 bn2 [conv3 bn3] relu, and downsample =
// Sequential(1x1 conv, BN) where the shape changes), avgpool, fc (the head).
// Initialization as torchvision: convolutions kaiming_normal_(fan_out, relu), BN 1/0, fc keeps
// torch.nn.Linear's default.
#pragma once
#include <cstdint>
#include <memory>

#include "models/summary.h"
#include "nn/layers.h"

namespace hemo::models {

// Two 3x3 convolutions (ResNet-18/34); expansion 1.
class BasicBlock : public nn::Module, public Traceable {
 public:
  BasicBlock(int64_t in, int64_t planes, int64_t stride, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Module> conv1, relu, conv2;
  std::shared_ptr<nn::Sequential> downsample;  // null when the shape is kept
};

// 1x1 reduce, 3x3 (carrying the stride; in `groups` groups), 1x1 expand to planes * 4; the width
// of the first two is planes * width_per_group / 64 * groups (torchvision's base_width).
class Bottleneck : public nn::Module, public Traceable {
 public:
  Bottleneck(int64_t in, int64_t planes, int64_t stride, int64_t groups, int64_t width_per_group, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Module> conv1, conv2, conv3, relu;
  std::shared_ptr<nn::Sequential> downsample;
};

class ResNet : public nn::Module, public Traceable {
 public:
  // depth: 18, 34, 50, 101 or 152; groups and width_per_group (64 and 1 plain) as torchvision's:
  // wide_resnet50_2 is (50, 1, 128), resnext50_32x4d (50, 32, 4).
  ResNet(int depth, int64_t groups, int64_t width_per_group, int64_t num_classes, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::shared_ptr<nn::Module> conv1, relu, maxpool, avgpool, fc;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3, layer4;
};

}  // namespace hemo::models
