// The scalar formulas of kernels/gradcam.h, written once for the CPU reference
// (kernels/cpu/gradcam.cpp) and the CUDA kernels (kernels/cuda/gradcam.cu), so the two cannot
// drift apart: the Grad-CAM++ term, the bilinear source coordinate, the two colour maps and the
// blend of a colour over an image pixel.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels/gradcam.h"


namespace hemo::gradcam_math {

// alpha * relu(g) of Grad-CAM++ for one position: g the gradient there, sum_a the channel's
// activation sum. 0 where g <= 0 or the denominator vanishes.
HEMO_HOST_DEVICE inline double gradcampp_term(double g, double sum_a) {
  if (!(g > 0)) return 0;
  const double g2 = g * g;
  const double den = 2 * g2 + sum_a * g2 * g;
  return den != 0 ? g2 / den * g : 0;
}

// One axis of PyTorch's bilinear resize with align_corners=False: where output index `dst` samples
// the input, as the two taps i0, i1 and the weight l1 of i1 (the weight of i0 is 1 - l1).
struct Taps {
  int64_t i0, i1;
  double l1;
};
HEMO_HOST_DEVICE inline Taps bilinear_taps(int64_t dst, int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  double s = (static_cast<double>(dst) + 0.5) * scale - 0.5;
  if (s < 0) s = 0;
  const int64_t i0 = static_cast<int64_t>(s);  // s >= 0: truncation is floor
  const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
  return {i0, i1, s - static_cast<double>(i0)};
}

struct Rgb {
  float r, g, b;  // each in [0, 1]
};

HEMO_HOST_DEVICE inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

// Linear interpolation through the points (xs[i], ys[i]), xs ascending from 0 to 1.
template <int K>
HEMO_HOST_DEVICE inline float piecewise(const float (&xs)[K], const float (&ys)[K], float v) {
  for (int i = 1; i < K; ++i)
    if (v <= xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (v - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[K - 1];
}

// matplotlib's "jet" (its segment data, evaluated exactly rather than through a 256-entry table).
HEMO_HOST_DEVICE inline Rgb jet(float v) {
  const float rx[] = {0.f, 0.35f, 0.66f, 0.89f, 1.f}, ry[] = {0.f, 0.f, 1.f, 1.f, 0.5f};
  const float gx[] = {0.f, 0.125f, 0.375f, 0.64f, 0.91f, 1.f}, gy[] = {0.f, 0.f, 1.f, 1.f, 0.f, 0.f};
  const float bx[] = {0.f, 0.11f, 0.34f, 0.65f, 1.f}, by[] = {0.5f, 1.f, 1.f, 0.f, 0.f};
  return {piecewise(rx, ry, v), piecewise(gx, gy, v), piecewise(bx, by, v)};
}

// Turbo (Google, 2019): its 256-entry table (as matplotlib ships it) sampled at the 33 points
// i / 32 and interpolated linearly; within 2.2/255 of the full table everywhere.
HEMO_HOST_DEVICE inline Rgb turbo(float v) {
  constexpr int kSegments = 32;
  const float table[kSegments + 1][3] = {
    {0.1900f, 0.0718f, 0.2322f}, {0.2250f, 0.1635f, 0.4510f}, {0.2511f, 0.2524f, 0.6337f},
    {0.2682f, 0.3382f, 0.7805f}, {0.2763f, 0.4212f, 0.8912f}, {0.2754f, 0.5011f, 0.9659f},
    {0.2586f, 0.5796f, 0.9988f}, {0.2138f, 0.6589f, 0.9796f}, {0.1584f, 0.7355f, 0.9231f},
    {0.1117f, 0.8057f, 0.8452f}, {0.0927f, 0.8655f, 0.7623f}, {0.1201f, 0.9119f, 0.6866f},
    {0.1966f, 0.9490f, 0.5947f}, {0.3051f, 0.9770f, 0.4899f}, {0.4278f, 0.9942f, 0.3857f},
    {0.5466f, 0.9991f, 0.2958f}, {0.6436f, 0.9900f, 0.2336f}, {0.7158f, 0.9688f, 0.2082f},
    {0.7952f, 0.9303f, 0.2039f}, {0.8671f, 0.8797f, 0.2139f}, {0.9267f, 0.8203f, 0.2257f},
    {0.9693f, 0.7552f, 0.2266f}, {0.9916f, 0.6841f, 0.2071f}, {0.9964f, 0.5985f, 0.1738f},
    {0.9859f, 0.5048f, 0.1337f}, {0.9619f, 0.4109f, 0.0931f}, {0.9262f, 0.3247f, 0.0584f},
    {0.8807f, 0.2533f, 0.0352f}, {0.8240f, 0.1918f, 0.0197f}, {0.7556f, 0.1373f, 0.0094f},
    {0.6754f, 0.0898f, 0.0045f}, {0.5834f, 0.0493f, 0.0049f}, {0.4796f, 0.0158f, 0.0106f}};
  const float x = v * kSegments;
  int i = static_cast<int>(x);
  if (i > kSegments - 1) i = kSegments - 1;
  const float f = x - static_cast<float>(i);
  const float* a = table[i];
  const float* b = table[i + 1];
  return {a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f};
}

HEMO_HOST_DEVICE inline Rgb colour(Colormap cmap, float v) {
  v = v == v ? clamp01(v) : 0.f;  // NaN (no map) shows as the lowest colour
  return cmap == Colormap::jet ? jet(v) : turbo(v);
}

// A value in [0, 255] (float) to a byte, rounding half up.
HEMO_HOST_DEVICE inline uint8_t to_byte(float v) {
  using std::floor;
  const float r = floor(v + 0.5f);
  return static_cast<uint8_t>(r < 0.f ? 0.f : (r > 255.f ? 255.f : r));
}

HEMO_HOST_DEVICE inline uint8_t blend(uint8_t image, float colour01, float alpha) {
  return to_byte((1.f - alpha) * static_cast<float>(image) + alpha * 255.f * colour01);
}

}  // namespace hemo::gradcam_math
