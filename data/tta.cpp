#include "data/tta.h"

#include "core/error.h"

namespace hemo::data {

int tta_views(Tta t) { return t == Tta::none ? 1 : t == Tta::flips ? 4 : 8; }

Tta parse_tta(const std::string& name) {
  if (name == "none") return Tta::none;
  if (name == "flips") return Tta::flips;
  if (name == "dihedral") return Tta::dihedral;
  throw Error(cat("unknown test-time augmentation '", name, "' (none, flips or dihedral)"));
}

std::string tta_name(Tta t) { return t == Tta::none ? "none" : t == Tta::flips ? "flips" : "dihedral"; }

void dihedral_view(const float* src, int64_t n, int64_t c, int64_t h, int64_t w, int v, float* dst) {
  HEMO_CHECK(v >= 0 && v < 8, "dihedral_view: view ", v, " (0..7)");
  const bool mirror_x = v & 1, mirror_y = v & 2, transpose = v & 4;
  HEMO_CHECK(!transpose || h == w, "dihedral_view: a quarter turn needs a square image, not ", h, "x", w);
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const float* s = src + plane * h * w;
    float* d = dst + plane * h * w;
    // Output pixel (y, x) of the view reads source pixel (sy, sx): undo the transpose, then the mirrors.
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        int64_t sy = transpose ? x : y, sx = transpose ? y : x;
        if (mirror_y) sy = h - 1 - sy;
        if (mirror_x) sx = w - 1 - sx;
        d[y * w + x] = s[sy * w + sx];
      }
  }
}

}  // namespace hemo::data
