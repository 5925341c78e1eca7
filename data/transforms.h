// The per-sample transform pipeline: RGB8 image in, normalised float CHW out (size x size).
//
// Evaluation (augment == false), deterministic, torchvision's
//   Resize(resize_shorter or size) -> CenterCrop(size) -> ToTensor -> Normalize(mean, std)
// Training (augment == true), torchvision's
//   RandomResizedCrop(size, scale, ratio) -> RandomHorizontalFlip(hflip) -> RandomVerticalFlip(vflip)
//   -> [a quarter turn k * 90 degrees, k uniform in 0..3] -> RandomRotation(rotation, interpolation,
//   fill) -> ColorJitter(jitter) -> ToTensor -> Normalize
// with every random draw taken from the Rng passed in, in that order (crop box, hflip, vflip, k,
// angle, jitter), so a given Rng state always gives the same output; k is drawn only with
// quarter_turns, so the draws without it are those before it existed. The turn and the rotation are
// one rotate() by k * 90 + angle degrees: a quarter turn alone moves pixels exactly (rotate.h).
// Resizing is antialiased when shrinking (resize.h); turns, rotation and flips run on the size x size
// crop, not on the full image.
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "data/color.h"
#include "data/image.h"
#include "data/rng.h"
#include "data/rotate.h"

namespace hemo::data {

struct TransformSpec {
  int size = 224;           // output is size x size
  bool augment = false;     // false: evaluation geometry below, no randomness
  int resize_shorter = 0;   // evaluation: shorter side resized to this (0: size) before the crop

  // RandomResizedCrop: area fraction in [scale_min, scale_max], aspect ratio (w/h) log-uniform in
  // [ratio_min, ratio_max]; 10 attempts, then the centre crop of the clamped ratio (torchvision).
  float scale_min = 0.08f, scale_max = 1.0f;
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;
  float hflip = 0.5f, vflip = 0.0f;  // flip probabilities
  bool quarter_turns = false;        // turn by 0, 90, 180 or 270 degrees, equally likely
  float rotation = 0.0f;             // angle uniform in [-rotation, rotation] degrees; 0: none
  Interp rotation_interp = Interp::Bilinear;
  std::array<uint8_t, 3> fill = {0, 0, 0};  // rotation fill colour
  ColorJitter jitter;

  std::array<float, 3> mean = kImageNetMean;
  std::array<float, 3> std = kImageNetStd;

  // Evaluation pipeline at `size`.
  static TransformSpec eval(int size = 224);
  // The evaluation pipeline of a model file: its input size and normalization (a ModelMeta's
  // input_size, mean and std, weights/model_meta.h). Every consumer of a model file feeds it
  // images through this one.
  static TransformSpec eval(int64_t size, const std::array<double, 3>& mean, const std::array<double, 3>& std);
  // Training preset for blood-cell smears (cells are centred, any orientation, stain varies):
  // RandomResizedCrop scale [0.5, 1], both flips at 0.5, rotation +-60 degrees (paper 002) with
  // black fill, ColorJitter(0.2, 0.2, 0.2, 0.02).
  static TransformSpec train(int size = 224);

  void validate() const;  // throws hemo::Error naming the bad field
  size_t output_floats() const { return 3 * static_cast<size_t>(size) * static_cast<size_t>(size); }
};

// A crop box in input pixels.
struct CropBox {
  int x = 0, y = 0, w = 0, h = 0;
};
// torchvision RandomResizedCrop.get_params for a width x height image.
CropBox random_resized_crop_box(int width, int height, const TransformSpec& spec, Rng& rng);

// Where the evaluation geometry (augment == false: resize of the shorter side, centre crop) takes
// its size x size output from, in the pixels of a width x height input: output pixel (i, j)
// covers input [x + j w / size, x + (j + 1) w / size) x [y + i h / size, y + (i + 1) h / size).
// The box lies inside the input unless the crop is larger than the resized image (resize_shorter
// smaller than size), where the crop pads. For mapping results (Grad-CAM maps) back onto the
// original image.
struct SourceBox {
  double x = 0, y = 0, w = 0, h = 0;
};
SourceBox eval_source_box(const TransformSpec& spec, int width, int height);

// The geometric part (resize/crop, flips, rotation): returns a size x size RGB8 image.
Image transform_geometry(const TransformSpec& spec, const Image& in, Rng& rng);

// The whole pipeline; `out` must hold spec.output_floats() floats (CHW). Throws hemo::Error.
void transform_into(const TransformSpec& spec, const Image& in, Rng& rng, std::span<float> out);

}  // namespace hemo::data
