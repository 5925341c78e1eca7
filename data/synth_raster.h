// Raster helpers of the synthetic smear generator (synth.cpp): float masks with soft (antialiased)
// shapes, smooth value noise, separable Gaussian blur. Internal to data/; pixel centres are at
// integer + 0.5, lengths in pixels.
#pragma once
#include <cstdint>
#include <vector>

#include "data/rng.h"

namespace hemo::data::synth {

// A single-channel float image.
struct Mask {
  int w = 0, h = 0;
  std::vector<float> v;
  Mask(int width, int height) : w(width), h(height), v(static_cast<size_t>(width) * height, 0.f) {}
  float& at(int x, int y) { return v[static_cast<size_t>(y) * w + x]; }
  float at(int x, int y) const { return v[static_cast<size_t>(y) * w + x]; }
};

enum class Blend { Max, Add };

// Ellipse centred at (cx, cy) with semi-axes a, b, turned by `angle` radians; coverage goes from 1
// inside to 0 outside over about one pixel. `value` scales the coverage.
void draw_ellipse(Mask& m, double cx, double cy, double a, double b, double angle, float value,
                  Blend blend);

// Capsule: the points within `radius` of the segment (x0, y0)-(x1, y1).
void draw_capsule(Mask& m, double x0, double y0, double x1, double y1, double radius, float value,
                  Blend blend);

// A roundish blob whose radius varies with the polar angle phi as
//   r(phi) = radius * (1 + sum_k amp[k] cos((k + 2) phi + phase[k])),  k = 0..2.
struct Blob {
  double cx = 0, cy = 0, radius = 1;
  double amp[3] = {0, 0, 0}, phase[3] = {0, 0, 0};
};
void draw_blob(Mask& m, const Blob& b, float value, Blend blend);

// Red blood cell: a disc of `radius` with a paler centre (biconcave), added to m.
void draw_red_cell(Mask& m, double cx, double cy, double radius, double pallor, float value);

// Smooth value noise in [0, 1]: random values on a grid of `cell` pixels, bicubic-smoothed.
Mask value_noise(int w, int h, double cell, Rng& rng);

// Separable Gaussian blur with standard deviation sigma (pixels), edges clamped. sigma <= 0: no-op.
void gaussian_blur(Mask& m, double sigma);

}  // namespace hemo::data::synth
