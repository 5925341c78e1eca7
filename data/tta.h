// Test-time augmentation: a model's class probabilities averaged over symmetric views of each
// image. A blood cell has no up, down, left or right, so its mirror images and quarter turns are
// as good a picture of it as the original; averaging the softmax over them evens out what one
// orientation gets wrong (on the validation part of weights/pbc128-split.csv, weights/MODELS.md).
// `hemo eval`, `hemo predict` (train/evaluate.h) and hemo-infer (api/inference_model.h) take it
// as --tta.
//
// Views, numbered 0..7 by three bits applied to an image's rows y and columns x (square images):
//   bit 0: mirror left-right  (x -> w - 1 - x)
//   bit 1: mirror top-bottom  (y -> h - 1 - y)
//   bit 2: transpose          (y <-> x; after the mirrors, so views 4..7 are the quarter turns and
//                              the two diagonal mirrors)
// `flips` averages views 0..3, `dihedral` all eight (the square's symmetry group); `none` is
// view 0 alone, the plain prediction.
#pragma once
#include <cstdint>
#include <string>

namespace hemo::data {

enum class Tta { none, flips, dihedral };

int tta_views(Tta t);                      // 1, 4 or 8
Tta parse_tta(const std::string& name);    // "none", "flips", "dihedral"; an Error names the choices
std::string tta_name(Tta t);

// dst = view v of the n images of c x h x w floats at src (NCHW, contiguous; dst does not overlap
// src). Transposing views (v >= 4) need h == w.
void dihedral_view(const float* src, int64_t n, int64_t c, int64_t h, int64_t w, int v, float* dst);

}  // namespace hemo::data
