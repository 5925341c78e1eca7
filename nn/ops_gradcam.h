// Grad-CAM's steps over hemo tensors (the math is kernels/gradcam.h), on the CPU (float32 or
// float64) or on CUDA (float32). None of them is differentiable: they read values only (their
// inputs are used detached) and return tensors without autograd history. nn/gradcam.h chains them.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/gradcam.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// act, grad [N, C, h, w] -> channel weights [N, C].
Tensor cam_weights(CamMethod method, const Tensor& act, const Tensor& grad);
// act [N, C, h, w], weights [N, C] -> max(0, sum_k w_k A_k) [N, h, w].
Tensor cam_weighted_sum_relu(const Tensor& act, const Tensor& weights);
// x [N, ...] -> each image min-max normalized to [0, 1] (a flat image becomes 0), same shape.
Tensor cam_normalize(const Tensor& x);
// x [..., h, w] (at least 2-d) -> [..., out_h, out_w], F.interpolate(bilinear, align_corners=False).
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w);

// Colours float32 `maps` [N, H, W] (on any device) with `cmap` and blends them over `images`:
// N interleaved RGB8 images of H x W on the host (N * H * W * 3 bytes). Returns the blended images
// in the same layout; on CUDA the images travel to the device and back.
std::vector<uint8_t> cam_overlay(Colormap cmap, const Tensor& maps, std::span<const uint8_t> images, float alpha);
// The colours alone: `values` [any shape] float32 -> numel * 3 bytes of RGB8, on the host.
std::vector<uint8_t> colormap(Colormap cmap, const Tensor& values);

}  // namespace hemo::nn
