// Inception-v3 (Szegedy et al. 2016), as torchvision.models.inception_v3 with its default
// aux_logits=True and transform_input=False (ImageNet weights want transform_input: their model
// file carries it as its normalization, mean and std 0.5; weights/README.md).
//
// Every convolution is a BasicConv2d (models/googlenet.h: conv without bias, BN eps 0.001, ReLU).
// The mixed blocks (InceptionV3Block) join their branches along channels; pools that torchvision
// calls functionally are parameter-free children here (pool: average 3x3/1 pad 1 counting the
// padding; maxpool: 3x3/2), so the state_dict is torchvision's key for key:
//   A(in, pool_features): branch1x1 (64) | branch5x5_1 (48), _2 (5x5 pad 2, 64) | branch3x3dbl_1
//     (64), _2 (3x3 pad 1, 96), _3 (96) | pool, branch_pool (pool_features)
//   B(in): branch3x3 (3x3/2, 384) | branch3x3dbl_1 (64), _2 (96, pad 1), _3 (3x3/2, 96) | maxpool
//   C(in, c7): branch1x1 (192) | branch7x7_1 (c7), _2 (1x7), _3 (7x1, 192) | branch7x7dbl_1 (c7),
//     _2 (7x1), _3 (1x7), _4 (7x1), _5 (1x7, 192) | pool, branch_pool (192)
//   D(in): branch3x3_1 (192), _2 (3x3/2, 320) | branch7x7x3_1 (192), _2 (1x7), _3 (7x1), _4
//     (3x3/2, 192) | maxpool
//   E(in): branch1x1 (320) | branch3x3_1 (384), then _2a (1x3) and _2b (3x1) joined | 
//     branch3x3dbl_1 (448), _2 (3x3 pad 1, 384), then _3a (1x3) and _3b (3x1) joined | pool,
//     branch_pool (192)
// Network: Conv2d_1a_3x3 (3/2, 32), Conv2d_2a_3x3 (32), Conv2d_2b_3x3 (pad 1, 64), maxpool1
//   (3/2), Conv2d_3b_1x1 (80), Conv2d_4a_3x3 (192), maxpool2, Mixed_5b A(192, 32), 5c A(256, 64),
//   5d A(288, 64), 6a B(288), 6b C(768, 128), 6c C(768, 160), 6d C(768, 160), 6e C(768, 192)
//   [AuxLogits in training], Mixed_7a D(768), 7b E(1280), 7c E(2048), avgpool (1x1), dropout
//   (0.5), flatten, fc (2048 -> num_classes, the head).
// AuxLogits (InceptionAuxV3, on Mixed_6e's output): average pool 5/3, conv0 (1x1, 128), conv1
//   (5x5, 768), adaptive average pool 1x1, flatten, fc (768 -> num_classes); loss weight 0.4
//   (torchvision's reference recipe; models/aux_classifiers.h).
// Initialization as torchvision's: trunc_normal_(std 0.1, [-2, 2]) on every Conv2d and Linear
// weight but AuxLogits.fc's (0.001); Linear biases PyTorch's default; BN 1 and 0.
// Smallest input: 75x75 (torchvision's min_size) in eval mode; in training the auxiliary head's
// 5x5 pool and 5x5 convolution need Mixed_6e maps of 17x17: an input of 299x299, as torchvision.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/aux_classifiers.h"
#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class InceptionV3Block : public nn::Module, public Traceable {
 public:
  // One branch: children applied in turn; then, when `split` is given, each of those children on
  // the branch's output, their results joined along channels (block E).
  struct Branch {
    std::vector<std::string> chain, split;
  };
  InceptionV3Block(std::string kind, std::vector<Branch> branches) : kind_(std::move(kind)), branches_(std::move(branches)) {}
  void add(const std::string& name, nn::ModulePtr m) { register_module(name, std::move(m)); }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return kind_; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  const std::vector<Branch>& branches() const { return branches_; }

 private:
  std::string kind_;
  std::vector<Branch> branches_;
};

class InceptionAuxV3 : public nn::Module, public Traceable {
 public:
  InceptionAuxV3(int64_t in, int64_t num_classes, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InceptionAux"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
};

class InceptionV3 : public nn::Module, public Traceable, public AuxClassifiers {
 public:
  InceptionV3(int64_t num_classes, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Inception3"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  std::vector<std::pair<double, Tensor>> take_aux_logits() override;
  void remove_aux_classifiers() override;
  static constexpr double kAuxWeight = 0.4;
  static const std::vector<std::string>& main_path();  // the children forward runs, in order

 private:
  std::vector<std::pair<double, Tensor>> aux_;
};

}  // namespace hemo::models
