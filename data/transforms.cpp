#include "data/transforms.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "data/resize.h"

namespace hemo::data {

TransformSpec TransformSpec::eval(int size) {
  TransformSpec s;
  s.size = size;
  return s;
}

TransformSpec TransformSpec::eval(int64_t size, const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  HEMO_CHECK(size > 0 && size <= 65536, "evaluation transform: input size ", size, " is out of range");
  TransformSpec s = eval(static_cast<int>(size));
  for (size_t k = 0; k < 3; ++k) {
    s.mean[k] = static_cast<float>(mean[k]);
    s.std[k] = static_cast<float>(std[k]);
  }
  return s;
}

TransformSpec TransformSpec::train(int size) {
  TransformSpec s;
  s.size = size;
  s.augment = true;
  s.scale_min = 0.5f;
  s.scale_max = 1.0f;
  s.hflip = 0.5f;
  s.vflip = 0.5f;
  s.rotation = 60.0f;
  s.jitter = {0.2f, 0.2f, 0.2f, 0.02f};
  return s;
}

void TransformSpec::validate() const {
  if (size <= 0 || size > 8192) throw Error(cat("transform: size ", size, " not in 1..8192"));
  if (resize_shorter < 0) throw Error(cat("transform: resize_shorter ", resize_shorter, " < 0"));
  if (!(scale_min > 0 && scale_min <= scale_max && scale_max <= 1))
    throw Error(cat("transform: crop scale [", scale_min, ", ", scale_max, "] must satisfy 0 < min <= max <= 1"));
  if (!(ratio_min > 0 && ratio_min <= ratio_max))
    throw Error(cat("transform: crop ratio [", ratio_min, ", ", ratio_max, "] must satisfy 0 < min <= max"));
  if (!(hflip >= 0 && hflip <= 1 && vflip >= 0 && vflip <= 1))
    throw Error("transform: flip probabilities must be in [0, 1]");
  if (!(rotation >= 0 && rotation <= 360)) throw Error(cat("transform: rotation ", rotation, " not in [0, 360]"));
  if (jitter.brightness < 0 || jitter.contrast < 0 || jitter.saturation < 0 || jitter.hue < 0 ||
      jitter.hue > 0.5f)
    throw Error("transform: color jitter values must be >= 0 and hue <= 0.5");
  for (float v : std)
    if (!(v > 0)) throw Error("transform: normalization std must be > 0");
}

CropBox random_resized_crop_box(int width, int height, const TransformSpec& s, Rng& rng) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(static_cast<double>(s.ratio_min));
  const double log_hi = std::log(static_cast<double>(s.ratio_max));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(s.scale_min, s.scale_max);
    const double ratio = std::exp(rng.uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target / ratio)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int y = static_cast<int>(rng.between(0, height - h));
      const int x = static_cast<int>(rng.between(0, width - w));
      return {x, y, w, h};
    }
  }
  // Fallback: centre crop with the ratio clamped to the allowed range.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < s.ratio_min) {
    h = static_cast<int>(std::nearbyint(width / static_cast<double>(s.ratio_min)));
  } else if (in_ratio > s.ratio_max) {
    w = static_cast<int>(std::nearbyint(height * static_cast<double>(s.ratio_max)));
  }
  w = std::max(1, std::min(w, width));
  h = std::max(1, std::min(h, height));
  return {(width - w) / 2, (height - h) / 2, w, h};
}

Image transform_geometry(const TransformSpec& s, const Image& in, Rng& rng) {
  if (in.empty()) throw Error("transform: empty input image");
  if (!s.augment) {
    const int shorter = s.resize_shorter > 0 ? s.resize_shorter : s.size;
    Image r = resize_shorter_side(in, shorter);
    if (r.width == s.size && r.height == s.size) return r;
    return center_crop(r, s.size, s.size);
  }
  const CropBox box = random_resized_crop_box(in.width, in.height, s, rng);
  Image img = resize_region(in, box.x, box.y, box.w, box.h, s.size, s.size);
  if (rng.bernoulli(s.hflip)) hflip_inplace(img);
  if (rng.bernoulli(s.vflip)) vflip_inplace(img);
  const double turn = s.quarter_turns ? 90.0 * static_cast<double>(rng.below(4)) : 0.0;
  const double angle = s.rotation > 0 ? rng.uniform(-s.rotation, s.rotation) : 0.0;
  if (turn != 0.0 || angle != 0.0) img = rotate(img, turn + angle, s.rotation_interp, s.fill);
  return img;
}

SourceBox eval_source_box(const TransformSpec& s, int width, int height) {
  if (width <= 0 || height <= 0) throw Error(cat("eval_source_box: empty input (", width, "x", height, ")"));
  // The sizes resize_shorter_side and the offsets center_crop compute (resize.cpp).
  const int64_t shorter = s.resize_shorter > 0 ? s.resize_shorter : s.size;
  const int64_t rw = width <= height ? shorter : shorter * width / height;
  const int64_t rh = width <= height ? shorter * height / width : shorter;
  const double left = std::nearbyint(static_cast<double>(rw - s.size) / 2.0);
  const double top = std::nearbyint(static_cast<double>(rh - s.size) / 2.0);
  const double sx = static_cast<double>(width) / static_cast<double>(rw);
  const double sy = static_cast<double>(height) / static_cast<double>(rh);
  return {left * sx, top * sy, s.size * sx, s.size * sy};
}

void transform_into(const TransformSpec& s, const Image& in, Rng& rng, std::span<float> out) {
  if (out.size() != s.output_floats())
    throw Error(cat("transform: output holds ", out.size(), " floats, need ", s.output_floats()));
  const Image img = transform_geometry(s, in, rng);
  if (!s.augment || !s.jitter.any()) {
    to_chw_normalized(img, out, s.mean, s.std);
    return;
  }
  const JitterParams p = draw_jitter(s.jitter, rng);
  thread_local std::vector<float> hwc;
  hwc.resize(img.rgb.size());
  for (size_t i = 0; i < hwc.size(); ++i) hwc[i] = static_cast<float>(img.rgb[i]) / 255.f;
  apply_jitter(hwc, p);
  hwc_to_chw_normalized(hwc, img.width, img.height, out, s.mean, s.std);
}

}  // namespace hemo::data
