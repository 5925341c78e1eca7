// Colour transforms and the final conversion to normalised float CHW.
//
// Colour jitter follows torchvision's ColorJitter on float images in [0, 1] (values are clamped
// to [0, 1] after every step):
//   brightness b: x' = b x
//   contrast   c: x' = c x + (1 - c) m, m = mean over the image of gray = 0.299 R + 0.587 G + 0.114 B
//   saturation s: x' = s x + (1 - s) gray (per pixel)
//   hue        h: in HSV, H' = (H + h) mod 1 (h in [-0.5, 0.5]); S and V unchanged
// Normalisation: out[c][y][x] = (x_c - mean[c]) / std[c], planar (CHW), channel order R, G, B.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "data/image.h"
#include "data/rng.h"

namespace hemo::data {

inline constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};

// Ranges as torchvision: brightness/contrast/saturation factors are drawn uniformly from
// [max(0, 1 - v), 1 + v], the hue shift from [-hue, hue] (hue <= 0.5).
struct ColorJitter {
  float brightness = 0, contrast = 0, saturation = 0, hue = 0;
  bool any() const { return brightness > 0 || contrast > 0 || saturation > 0 || hue > 0; }
};

// One draw of ColorJitter: the factors and the order of the four steps (a permutation of
// 0 brightness, 1 contrast, 2 saturation, 3 hue); a step whose range is empty is skipped.
struct JitterParams {
  std::array<int, 4> order = {0, 1, 2, 3};
  float brightness = 1, contrast = 1, saturation = 1, hue = 0;
  bool active[4] = {false, false, false, false};
};
JitterParams draw_jitter(const ColorJitter& j, Rng& rng);

// Applies the jitter to an interleaved RGB float image in [0, 1] (n_pixels * 3 values), in place.
void apply_jitter(std::span<float> hwc, const JitterParams& p);

// Each step alone, on interleaved RGB floats in [0, 1], in place (exposed for tests).
void adjust_brightness(std::span<float> hwc, float factor);
void adjust_contrast(std::span<float> hwc, float factor);
void adjust_saturation(std::span<float> hwc, float factor);
void adjust_hue(std::span<float> hwc, float shift);

// RGB8 -> normalised float CHW: out holds 3 * width * height floats.
void to_chw_normalized(const Image& img, std::span<float> out, const std::array<float, 3>& mean,
                       const std::array<float, 3>& stddev);
// Interleaved RGB floats in [0, 1] -> normalised float CHW.
void hwc_to_chw_normalized(std::span<const float> hwc, int width, int height, std::span<float> out,
                           const std::array<float, 3>& mean, const std::array<float, 3>& stddev);

}  // namespace hemo::data
