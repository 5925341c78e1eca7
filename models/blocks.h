// Pieces the architectures share: torchvision's Conv2dNormActivation, and the initializations
// torchvision's model constructors apply after building a tree.
#pragma once
#include <cstdint>
#include <optional>

#include "nn/layers.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

// BatchNorm hyper-parameters; torchvision's default, except MobileNetV3 (eps 0.001, momentum 0.01).
struct BnConfig {
  double eps = 1e-5, momentum = 0.1;
};

// A square Conv2d (kernel k, stride, padding pad on every side), with or without a bias; and a
// ReLU module. The plain layers AlexNet, SqueezeNet and DenseNet are written in.
nn::ModulePtr square_conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias, Generator& gen);
nn::ModulePtr relu();

// torchvision.ops.Conv2dNormActivation: a Sequential of "0" Conv2d (no bias, padding
// (kernel - 1) / 2), "1" BatchNorm2d, and "2" the activation when one is given.
std::shared_ptr<nn::Sequential> conv_norm_act(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                                              std::optional<Activation> act, BnConfig bn, Generator& gen);

// torchvision's _make_divisible: v rounded to the nearest multiple of `divisor` (at least divisor),
// never more than 10% below v.
int64_t make_divisible(double v, int64_t divisor);

// Both do nothing under an nn::NoInitGuard.
// Re-initializes every Conv2d in the tree as torchvision's VGG, ResNet and MobileNets do:
// weight kaiming_normal_(mode=fan_out, relu gain sqrt 2), bias (when present) zero.
void init_convs_kaiming_fan_out(nn::Module& root, Generator& gen);
// Re-initializes every Linear in the tree: weight normal(0, stddev), bias zero (VGG, MobileNets).
void init_linears_normal(nn::Module& root, Generator& gen, double stddev);

}  // namespace hemo::models
