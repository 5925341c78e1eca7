#include "data/color.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hemo::data {

namespace {
inline float clamp01(float v) { return v < 0.f ? 0.f : v > 1.f ? 1.f : v; }
inline float gray(const float* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }
}  // namespace

JitterParams draw_jitter(const ColorJitter& j, Rng& rng) {
  JitterParams p;
  // Random order of the four steps (Fisher-Yates), then the factors in step-number order.
  for (int i = 3; i > 0; --i) std::swap(p.order[static_cast<size_t>(i)], p.order[rng.below(static_cast<uint64_t>(i) + 1)]);
  auto factor = [&](float v, int k) {
    if (v <= 0) return 1.f;
    p.active[k] = true;
    return static_cast<float>(rng.uniform(std::max(0.0, 1.0 - v), 1.0 + v));
  };
  p.brightness = factor(j.brightness, 0);
  p.contrast = factor(j.contrast, 1);
  p.saturation = factor(j.saturation, 2);
  if (j.hue > 0) {
    if (j.hue > 0.5f) throw Error(cat("ColorJitter: hue ", j.hue, " must be in [0, 0.5]"));
    p.active[3] = true;
    p.hue = static_cast<float>(rng.uniform(-j.hue, j.hue));
  }
  return p;
}

void adjust_brightness(std::span<float> v, float f) {
  for (float& x : v) x = clamp01(x * f);
}

void adjust_contrast(std::span<float> v, float f) {
  double sum = 0;
  const size_t n = v.size() / 3;
  for (size_t i = 0; i < n; ++i) sum += gray(&v[3 * i]);
  const float m = n ? static_cast<float>(sum / static_cast<double>(n)) : 0.f;
  const float add = (1 - f) * m;
  for (float& x : v) x = clamp01(f * x + add);
}

void adjust_saturation(std::span<float> v, float f) {
  const size_t n = v.size() / 3;
  for (size_t i = 0; i < n; ++i) {
    float* p = &v[3 * i];
    const float g = (1 - f) * gray(p);
    p[0] = clamp01(f * p[0] + g);
    p[1] = clamp01(f * p[1] + g);
    p[2] = clamp01(f * p[2] + g);
  }
}

void adjust_hue(std::span<float> v, float shift) {
  const size_t n = v.size() / 3;
  for (size_t i = 0; i < n; ++i) {
    float* p = &v[3 * i];
    const float r = p[0], g = p[1], b = p[2];
    const float mx = std::max(r, std::max(g, b)), mn = std::min(r, std::min(g, b));
    const float c = mx - mn;
    if (c <= 0) continue;  // gray: hue undefined, unchanged
    // RGB -> hue in [0, 1)
    float h;
    if (mx == r) h = (g - b) / c;
    else if (mx == g) h = 2.f + (b - r) / c;
    else h = 4.f + (r - g) / c;
    h = h / 6.f + shift;
    h -= std::floor(h);
    // HSV -> RGB with V = mx, S = c / mx: the hexagon walk.
    const float h6 = h * 6.f;
    const int sector = std::min(static_cast<int>(h6), 5);
    const float frac = h6 - static_cast<float>(sector);
    const float rise = mn + c * frac, fall = mx - c * frac;
    switch (sector) {
      case 0: p[0] = mx, p[1] = rise, p[2] = mn; break;
      case 1: p[0] = fall, p[1] = mx, p[2] = mn; break;
      case 2: p[0] = mn, p[1] = mx, p[2] = rise; break;
      case 3: p[0] = mn, p[1] = fall, p[2] = mx; break;
      case 4: p[0] = rise, p[1] = mn, p[2] = mx; break;
      default: p[0] = mx, p[1] = mn, p[2] = fall; break;
    }
  }
}

void apply_jitter(std::span<float> hwc, const JitterParams& p) {
  for (int step : p.order) {
    if (!p.active[step]) continue;
    switch (step) {
      case 0: adjust_brightness(hwc, p.brightness); break;
      case 1: adjust_contrast(hwc, p.contrast); break;
      case 2: adjust_saturation(hwc, p.saturation); break;
      default: adjust_hue(hwc, p.hue); break;
    }
  }
}

void to_chw_normalized(const Image& img, std::span<float> out, const std::array<float, 3>& mean,
                       const std::array<float, 3>& stddev) {
  const size_t n = img.pixels();
  if (out.size() != 3 * n)
    throw Error(cat("to_chw_normalized: output holds ", out.size(), " floats, need ", 3 * n));
  // One lookup table per channel: 256 values, exact same arithmetic as the float path.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.f - mean[static_cast<size_t>(c)]) / stddev[static_cast<size_t>(c)];
  float* r = out.data();
  float* g = r + n;
  float* b = g + n;
  const uint8_t* s = img.rgb.data();
  for (size_t i = 0; i < n; ++i, s += 3) {
    r[i] = lut[0][s[0]];
    g[i] = lut[1][s[1]];
    b[i] = lut[2][s[2]];
  }
}

void hwc_to_chw_normalized(std::span<const float> hwc, int width, int height, std::span<float> out,
                           const std::array<float, 3>& mean, const std::array<float, 3>& stddev) {
  const size_t n = static_cast<size_t>(width) * static_cast<size_t>(height);
  if (hwc.size() != 3 * n || out.size() != 3 * n)
    throw Error(cat("hwc_to_chw_normalized: sizes ", hwc.size(), " -> ", out.size(), " for ", width,
                    "x", height, " pixels"));
  float* r = out.data();
  float* g = r + n;
  float* b = g + n;
  for (size_t i = 0; i < n; ++i) {
    r[i] = (hwc[3 * i] - mean[0]) / stddev[0];
    g[i] = (hwc[3 * i + 1] - mean[1]) / stddev[1];
    b[i] = (hwc[3 * i + 2] - mean[2]) / stddev[2];
  }
}

}  // namespace hemo::data
