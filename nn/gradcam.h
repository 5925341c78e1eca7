// Grad-CAM and Grad-CAM++ for any hemo model: which regions of an image drove a class score.
//
//   1. A forward hook on the target module (a dotted name, e.g. "layer4.1"; models::ModelSpec's
//      gradcam_layer gives each architecture's default) keeps its output A [N, C, h, w].
//   2. Backward from the chosen class's score S (the logit; the predicted class unless given) to A
//      only: the model's parameters are frozen for the call, and A is made a leaf, so neither
//      parameter gradients nor the layers below the target are computed (and no parameter's
//      grad() is touched).
//   3. Channel weights from g = dS/dA, the ReLU of the weighted channel sum, per-image min-max
//      normalization, then a bilinear resize to the input size (or out_h x out_w):
//      kernels/gradcam.h states every formula, Grad-CAM++'s included.
//
// Every image of the batch is explained independently (the model must be in eval mode, where
// images do not interact; checked). Runs on the model's device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gradcam.h"
#include "nn/module.h"

namespace hemo::nn {

struct GradCamOptions {
  CamMethod method = CamMethod::gradcam;
  std::string layer;             // dotted module name of the target layer (required)
  std::vector<int64_t> classes;  // one class per image; empty: each image's predicted (argmax) class
  int64_t out_h = 0, out_w = 0;  // size of `maps`; 0: the input's
};

struct GradCamResult {
  Tensor logits;                 // [N, K], no autograd history
  std::vector<int64_t> classes;  // the class explained, per image
  Tensor activations;            // A [N, C, h, w]
  Tensor gradients;              // dS/dA [N, C, h, w]
  Tensor weights;                // [N, C]
  Tensor low_res;                // the normalized map at the layer's resolution [N, h, w]
  Tensor maps;                   // resized: [N, out_h, out_w], values in [0, 1]
};

// input [N, 3, H, W] on the model's device. Errors name the layer (unknown, not run by the
// forward, output not 4-d, score independent of it) or the class (out of range).
GradCamResult grad_cam(Module& model, const Tensor& input, const GradCamOptions& options);

}  // namespace hemo::nn
