// GoogLeNet (Inception v1, Szegedy et al. 2014), as torchvision.models.googlenet with its default
// aux_logits=True and transform_input=False.
//
// BasicConv2d(in, out, k, stride, pad): `conv` (no bias) + `bn` (eps 0.001) + ReLU (functional: no
//   module, as torchvision); Inception-v3 (models/inception.h) uses it too, with 1x7 and 7x1 kernels.
// Inception(in, c1, r3, c3, r5, c5, p): branch1 = BasicConv2d 1x1 -> c1; branch2 = 1x1 -> r3,
//   3x3 pad 1 -> c3; branch3 = 1x1 -> r5, 3x3 pad 1 -> c5 (torchvision's 3x3 where the paper has
//   5x5, kept for its weights); branch4 = MaxPool 3/1 pad 1 ceil, 1x1 -> p; joined along channels.
// InceptionAux(in): adaptive average pool to 4x4, `conv` BasicConv2d 1x1 -> 128, flatten, `fc1`
//   Linear 2048 -> 1024, ReLU, `dropout` (0.7), `fc2` Linear 1024 -> num_classes.
// Network: conv1 (7x7/2 pad 3, 3 -> 64), maxpool1 (3/2 ceil), conv2 (1x1 64), conv3 (3x3 pad 1
//   -> 192), maxpool2, inception3a (192: 64, 96, 128, 16, 32, 32), inception3b (256: 128, 128,
//   192, 32, 96, 64), maxpool3, inception4a (480: 192, 96, 208, 16, 48, 64) [aux1 on its output
//   in training], 4b (512: 160, 112, 224, 24, 64, 64), 4c (512: 128, 128, 256, 24, 64, 64), 4d
//   (512: 112, 144, 288, 32, 64, 64) [aux2], 4e (528: 256, 160, 320, 32, 128, 128), maxpool4
//   (2/2 ceil), 5a (832: 256, 160, 320, 32, 128, 128), 5b (832: 384, 192, 384, 48, 128, 128),
//   avgpool (1x1), flatten, dropout (0.2), fc (1024 -> num_classes, the head).
// Training: the auxiliary logits (aux1, aux2) are kept for the trainer, weight 0.3 each
// (models/aux_classifiers.h). Initialization as torchvision's: trunc_normal_(std 0.01, [-2, 2])
// on every Conv2d and Linear weight, Linear biases from PyTorch's default, BN 1 and 0.
// Smallest input: 15x15 (torchvision's min_size).
#pragma once
#include <cstdint>

#include "models/aux_classifiers.h"
#include "models/summary.h"
#include "nn/module.h"
#include "nn/pair.h"
#include "tensor/rng.h"

namespace hemo::models {

class BasicConv2d : public nn::Module, public Traceable {
 public:
  BasicConv2d(int64_t in, int64_t out, nn::Pair kernel, nn::Pair stride, nn::Pair pad, Generator& gen,
              double bn_eps = 0.001);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicConv2d"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  // No member pointers to `conv` and `bn`: prepare_for_inference replaces the folded bn.
};

class Inception : public nn::Module, public Traceable {
 public:
  Inception(int64_t in, int64_t c1, int64_t r3, int64_t c3, int64_t r5, int64_t c5, int64_t pool_proj, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Inception"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
};

class InceptionAux : public nn::Module, public Traceable {
 public:
  InceptionAux(int64_t in, int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InceptionAux"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
};

class GoogLeNet : public nn::Module, public Traceable, public AuxClassifiers {
 public:
  // dropout, dropout_aux: the main head's (0.2) and the side heads' (0.7) dropout probabilities.
  GoogLeNet(int64_t num_classes, double dropout, double dropout_aux, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GoogLeNet"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::vector<std::pair<double, Tensor>> take_aux_logits() override;
  void remove_aux_classifiers() override;
  static constexpr double kAuxWeight = 0.3;  // torchvision's reference recipe, for each head

 private:
  std::vector<std::pair<double, Tensor>> aux_;
};

}  // namespace hemo::models
