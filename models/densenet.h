// DenseNet-BC 121, 161, 169 and 201, as torchvision.models.densenet* (Huang et al. 2017).
//
// DenseLayer(in, growth k, bn_size b): norm1 (BN in), relu1, conv1 (1x1 in -> b k), norm2, relu2,
//   conv2 (3x3 pad 1, b k -> k); its input is the concatenation of the block's input and every
//   earlier layer's output (in = c0 + i k channels for layer i of a block entered with c0).
// DenseBlock: layers denselayer1..L; output: the concatenation of its input and all L outputs
//   (c0 + L k channels; nn::concat_channels).
// Transition (between blocks): norm, relu, conv (1x1, halving the channels), pool (avg 2/2).
// `features`: conv0 (7x7/2 pad 3, 3 -> c), norm0, relu0, pool0 (max 3/2 pad 1), denseblock1,
//   transition1, ..., denseblock4, norm5; then ReLU, global average pool, `classifier` (Linear).
//   121: k 32, blocks (6, 12, 24, 16), c 64;  161: k 48, (6, 12, 36, 24), c 96;
//   169: k 32, (6, 12, 32, 32), c 64;  201: k 32, (6, 12, 48, 32), c 64. b = 4, no dropout.
// Convolutions have no bias. Initialization as torchvision's: kaiming_normal_ (fan in, gain
// sqrt 2) on convolutions, BN 1 and 0, the Linear's bias 0 (its weight: PyTorch's default).
//
// Memory (memory_efficient, on by default; torchvision's memory_efficient=True): each layer's
// concatenation, norm1, relu1 and conv1 run under nn::checkpoint, so the concatenated input
// and its normalized copy are freed after the forward pass and recomputed in backward. A block
// then keeps O(L) channel maps for backward (its input, each layer's k-channel output and
// bottleneck) instead of O(L^2) (every layer's c0 + i k channel input, twice). Results are the
// same either way; the price is a second run of norm1/relu1/conv1 in backward.
// tests/unit/densenet_memory_test.cpp measures the bytes a training forward pass keeps.
// The block calls each layer's six modules itself: forward hooks on a denselayerN container
// (not on its modules) do not fire.
// Smallest input: 29x29 (conv0 15, pool0 8, the transitions 4, 2, 1: the fourth block sees 1x1).
#pragma once
#include <cstdint>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

// Its layers are named Sequentials (norm1 relu1 conv1 norm2 relu2 conv2), each run on the
// concatenation of the block's input and the earlier layers' outputs.
class DenseBlock : public nn::Module, public Traceable {
 public:
  DenseBlock(int64_t layers, int64_t in, int64_t growth, int64_t bn_size, bool memory_efficient, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DenseBlock"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;

  bool memory_efficient;  // checkpoint each layer's concatenation, norm1, relu1, conv1
};

class DenseNet : public nn::Module, public Traceable {
 public:
  // depth: 121, 161, 169 or 201.
  DenseNet(int depth, int64_t num_classes, bool memory_efficient, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DenseNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  static constexpr const char* kLastFeature = "features.norm5";  // for Grad-CAM (pytorch-grad-cam's choice)

  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Module> classifier;
};

}  // namespace hemo::models
