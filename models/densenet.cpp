#include "models/densenet.h"

#include <vector>

#include "models/blocks.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_concat.h"
#include "nn/ops_pool.h"

namespace hemo::models {

namespace {
nn::ModulePtr conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, Generator& gen) {
  return square_conv(in, out, k, stride, pad, false, gen);
}
nn::ModulePtr bn(int64_t c) { return nn::make<nn::BatchNorm2d>(c); }

struct Config {
  int64_t growth, init;
  std::vector<int64_t> blocks;
};
Config config(int depth) {
  switch (depth) {
    case 121: return {32, 64, {6, 12, 24, 16}};
    case 161: return {48, 96, {6, 12, 36, 24}};
    case 169: return {32, 64, {6, 12, 32, 32}};
    case 201: return {32, 64, {6, 12, 48, 32}};
    default: throw Error(cat("DenseNet: depth must be 121, 161, 169 or 201, got ", depth));
  }
}
}  // namespace

DenseBlock::DenseBlock(int64_t layers, int64_t in, int64_t growth, int64_t bn_size, bool memory_efficient_,
                       Generator& gen)
    : memory_efficient(memory_efficient_) {
  for (int64_t i = 0; i < layers; ++i) {
    const int64_t c = in + i * growth;
    register_module(cat("denselayer", i + 1),
                    nn::make<nn::Sequential>(std::vector<std::pair<std::string, nn::ModulePtr>>{
                        {"norm1", bn(c)},
                        {"relu1", relu()},
                        {"conv1", conv(c, bn_size * growth, 1, 1, 0, gen)},
                        {"norm2", bn(bn_size * growth)},
                        {"relu2", relu()},
                        {"conv2", conv(bn_size * growth, growth, 3, 1, 1, gen)}}));
  }
}

Tensor DenseBlock::forward(const Tensor& x) {
  std::vector<Tensor> features{x};
  for (size_t i = 0; i < child_count(); ++i) {
    auto& layer = static_cast<nn::Sequential&>(*child(i));
    // norm1, relu1, conv1 of the concatenation: the part whose saved tensors grow with i.
    auto bottleneck = [&layer](const std::vector<Tensor>& fs) {
      Tensor h = fs.size() == 1 ? fs[0] : nn::concat_channels(fs);
      return layer.forward_range(0, 3, h);
    };
    Tensor h = memory_efficient ? nn::checkpoint("DenseLayerBottleneck", bottleneck, features) : bottleneck(features);
    h = layer.forward_range(3, layer.size(), h);
    features.push_back(h);
  }
  return nn::concat_channels(features);
}

Shape DenseBlock::trace(ShapeTracer& t, const Shape& in) {
  Shape s = in;
  for (size_t i = 0; i < child_count(); ++i) s[1] += t.child(*this, cat("denselayer", i + 1), s)[1];
  return s;
}

DenseNet::DenseNet(int depth, int64_t num_classes, bool memory_efficient, Generator& gen) {
  const Config cfg = config(depth);
  constexpr int64_t bn_size = 4;
  features = nn::make<nn::Sequential>(std::vector<std::pair<std::string, nn::ModulePtr>>{
      {"conv0", conv(3, cfg.init, 7, 2, 3, gen)},
      {"norm0", bn(cfg.init)},
      {"relu0", relu()},
      {"pool0", nn::make<nn::MaxPool2d>(nn::Pair{3, 3}, nn::Pair{2, 2}, nn::Pair{1, 1})}});
  int64_t c = cfg.init;
  for (size_t i = 0; i < cfg.blocks.size(); ++i) {
    features->push_back(cat("denseblock", i + 1),
                        nn::make<DenseBlock>(cfg.blocks[i], c, cfg.growth, bn_size, memory_efficient, gen));
    c += cfg.blocks[i] * cfg.growth;
    if (i + 1 == cfg.blocks.size()) break;
    features->push_back(cat("transition", i + 1),
                        nn::make<nn::Sequential>(std::vector<std::pair<std::string, nn::ModulePtr>>{
                            {"norm", bn(c)},
                            {"relu", relu()},
                            {"conv", conv(c, c / 2, 1, 1, 0, gen)},
                            {"pool", nn::make<nn::AvgPool2d>(nn::Pair{2, 2}, nn::Pair{2, 2})}}));
    c /= 2;
  }
  features->push_back("norm5", bn(c));
  classifier = nn::make<nn::Linear>(c, num_classes, true, gen);
  register_module("features", features);
  register_module("classifier", classifier);
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : named_modules()) {
    if (auto* cv = dynamic_cast<nn::Conv2d*>(m)) nn::kaiming_normal_(cv->weight, gen);
    if (auto* fc = dynamic_cast<nn::Linear*>(m)) nn::constant_(fc->bias, 0);
  }
}

Tensor DenseNet::forward(const Tensor& x) {
  const Tensor y = nn::activation(Activation::relu, (*features)(x));
  return (*classifier)(nn::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
}

Shape DenseNet::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.child(*this, "features", in);
  return t.child(*this, "classifier", {y[0], y[1]});
}

}  // namespace hemo::models
