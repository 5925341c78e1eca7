// Turning a model of the zoo into an inference-only one, as hemo-infer loads it.
//
// prepare_for_inference(model), in place:
//   1. eval mode, and requires_grad off on every parameter: no forward can record an autograd
//      node (tensor/autograd.h records only when an input requires grad), with or without a
//      NoGradGuard;
//   2. every BatchNorm2d applied directly to a Conv2d's output is folded into that convolution
//      (nn::Conv2d::fold_batchnorm: the conv gains a bias, the pair becomes one affine map) and
//      replaced with Identity;
//   3. every Dropout (the identity in eval mode) is replaced with Identity;
//   4. auxiliary classifiers (models/aux_classifiers.h), which eval mode never runs, are removed.
// "Directly to a Conv2d's output" is recognised structurally, in the two shapes the zoo has:
//   - a Sequential whose child i is a Conv2d and child i+1 a BatchNorm2d (torchvision's
//     Conv2dNormActivation, VGG-BN's features, ResNet's downsample, MobileNet's blocks);
//   - siblings named conv<K> and bn<K> (ResNet's stem and blocks, whose forward applies bn<K> to
//     conv<K>'s output and to nothing else).
// A batch norm found in neither shape is kept (it still computes its eval-mode affine map) and
// counted in `batchnorms_kept`; the tests require none for every architecture of the registry
// but DenseNet, whose pre-activation batch norms (each layer's norm1 on a concatenation, the
// transitions', norm5) follow no convolution.
// The folded model computes what the unfolded one does in eval mode, up to float rounding
// (tests/unit/inference_fold_test.cpp: 1e-5 on logits and probabilities). Its state_dict is no
// longer torchvision's (convolutions gain biases, batch norms vanish): it is for running only.
#pragma once
#include <cstdint>

#include "nn/module.h"

namespace hemo::models {

struct InferenceReport {
  int64_t batchnorms_folded = 0, batchnorms_kept = 0, dropouts_removed = 0;
  bool aux_classifiers_removed = false;  // GoogLeNet's, Inception-v3's (models/aux_classifiers.h)
};

InferenceReport prepare_for_inference(nn::Module& model);

}  // namespace hemo::models
