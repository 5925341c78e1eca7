#include "models/resnet.h"

#include <array>

#include "models/blocks.h"
#include "nn/fusion.h"

namespace hemo::models {

namespace {
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, Generator& gen,
                                  int64_t groups = 1) {
  nn::Conv2d::Options o;
  o.groups = groups;
  o.kernel = {kernel, kernel};
  o.stride = {stride, stride};
  o.padding = {kernel / 2, kernel / 2};
  o.bias = false;
  return nn::make<nn::Conv2d>(in, out, o, gen);
}

std::shared_ptr<nn::Sequential> downsample_if_needed(int64_t in, int64_t out, int64_t stride, Generator& gen) {
  if (stride == 1 && in == out) return nullptr;
  return nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{conv(in, out, 1, stride, gen), nn::make<nn::BatchNorm2d>(out)});
}

// relu(bn(conv(x))) for the children `conv` and `bn`: fused (nn/fusion.h: conv_bn_act).
Tensor conv_bn_relu(nn::Module& parent, const char* conv, const char* bn, nn::Module& relu, const Tensor& x) {
  return nn::conv_bn_act(*parent.find(conv), *parent.find(bn), relu, x);
}

// relu(bn(conv(x)) + residual), the block's end: fused (nn/fusion.h: conv_bn_add_act).
Tensor conv_bn_add_relu(nn::Module& parent, const char* conv, const char* bn, nn::Module& relu, const Tensor& x,
                        const Tensor& residual) {
  return nn::conv_bn_add_act(*parent.find(conv), *parent.find(bn), relu, x, residual);
}

// The shortcut: the block's input, or its downsampled version.
Tensor shortcut(const std::shared_ptr<nn::Sequential>& downsample, const Tensor& x) {
  return downsample ? (*downsample)(x) : x;
}

// The shortcut, the addition and the block's final ReLU (its `relu` module, as torchvision).
Shape trace_shortcut(ShapeTracer& t, nn::Module& block, bool has_downsample, const Shape& in, const Shape& out) {
  Shape s = has_downsample ? t.child(block, "downsample", in) : in;
  HEMO_CHECK(s == out, "summary: residual shapes differ: ", shape_str(s), " vs ", shape_str(out));
  return t.child(block, "relu", out);
}
}  // namespace

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride, Generator& gen) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride, gen));
  register_module("bn1", nn::make<nn::BatchNorm2d>(planes));
  relu = register_module("relu", nn::make<nn::Act>(Activation::relu));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, gen));
  register_module("bn2", nn::make<nn::BatchNorm2d>(planes));
  downsample = downsample_if_needed(in, planes, stride, gen);
  if (downsample) register_module("downsample", downsample);
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor y = conv_bn_relu(*this, "conv1", "bn1", *relu, x);
  return conv_bn_add_relu(*this, "conv2", "bn2", *relu, y, shortcut(downsample, x));
}

Shape BasicBlock::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"conv1", "bn1", "relu", "conv2", "bn2"}, in);
  return trace_shortcut(t, *this, downsample != nullptr, in, y);
}

Bottleneck::Bottleneck(int64_t in, int64_t planes, int64_t stride, int64_t groups, int64_t width_per_group,
                       Generator& gen) {
  const int64_t width = planes * width_per_group / 64 * groups, out = planes * 4;
  conv1 = register_module("conv1", conv(in, width, 1, 1, gen));
  register_module("bn1", nn::make<nn::BatchNorm2d>(width));
  conv2 = register_module("conv2", conv(width, width, 3, stride, gen, groups));
  register_module("bn2", nn::make<nn::BatchNorm2d>(width));
  conv3 = register_module("conv3", conv(width, out, 1, 1, gen));
  register_module("bn3", nn::make<nn::BatchNorm2d>(out));
  relu = register_module("relu", nn::make<nn::Act>(Activation::relu));
  downsample = downsample_if_needed(in, out, stride, gen);
  if (downsample) register_module("downsample", downsample);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor y = conv_bn_relu(*this, "conv1", "bn1", *relu, x);
  y = conv_bn_relu(*this, "conv2", "bn2", *relu, y);
  return conv_bn_add_relu(*this, "conv3", "bn3", *relu, y, shortcut(downsample, x));
}

Shape Bottleneck::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"}, in);
  return trace_shortcut(t, *this, downsample != nullptr, in, y);
}

ResNet::ResNet(int depth, int64_t groups, int64_t width_per_group, int64_t num_classes, Generator& gen) {
  std::array<int64_t, 4> blocks;
  bool bottleneck = depth >= 50;
  switch (depth) {
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34: blocks = {3, 4, 6, 3}; break;
    case 50: blocks = {3, 4, 6, 3}; break;
    case 101: blocks = {3, 4, 23, 3}; break;
    case 152: blocks = {3, 8, 36, 3}; break;
    default: throw Error(cat("ResNet: depth must be 18, 34, 50, 101 or 152, got ", depth));
  }
  HEMO_CHECK((groups == 1 && width_per_group == 64) || bottleneck,
             "ResNet: only bottleneck ResNets (depth >= 50) can be widened or grouped");
  conv1 = register_module("conv1", conv(3, 64, 7, 2, gen));
  register_module("bn1", nn::make<nn::BatchNorm2d>(64));
  relu = register_module("relu", nn::make<nn::Act>(Activation::relu));
  maxpool = register_module("maxpool", nn::make<nn::MaxPool2d>(nn::Pair{3, 3}, nn::Pair{2, 2}, nn::Pair{1, 1}));

  const int64_t expansion = bottleneck ? 4 : 1;
  int64_t in = 64;
  std::array<std::shared_ptr<nn::Sequential>*, 4> layers{&layer1, &layer2, &layer3, &layer4};
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = int64_t{64} << stage;
    auto layer = nn::make<nn::Sequential>();
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      if (bottleneck) {
        layer->push_back(nn::make<Bottleneck>(in, planes, stride, groups, width_per_group, gen));
      } else {
        layer->push_back(nn::make<BasicBlock>(in, planes, stride, gen));
      }
      in = planes * expansion;
    }
    *layers[stage] = register_module(cat("layer", stage + 1), layer);
  }
  avgpool = register_module("avgpool", nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1}));
  fc = register_module("fc", nn::make<nn::Linear>(512 * expansion, num_classes, true, gen));
  init_convs_kaiming_fan_out(*this, gen);
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor y = (*maxpool)(conv_bn_relu(*this, "conv1", "bn1", *relu, x));
  y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
  return (*fc)((*avgpool)(y).flatten(1));
}

Shape ResNet::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"}, in);
  return t.child(*this, "fc", {y[0], shape_numel(y) / y[0]});
}

}  // namespace hemo::models
