// draw_cell: the per-class recipes of the synthetic smear (synth.h). Sizes are in units of the cell
// radius R, positions in the cell's own frame (x along its random orientation), so the same recipe
// scales and turns freely.
#include <array>
#include <cmath>

#include "core/error.h"
#include "data/synth.h"
#include "data/synth_raster.h"

namespace hemo::data::synth {

namespace {

using Od = std::array<double, 3>;  // optical density per channel (R, G, B) at full stain
constexpr double kPi = 3.14159265358979323846;

enum Cls { kBasophil, kEosinophil, kErythroblast, kIg, kLymphocyte, kMonocyte, kNeutrophil, kPlatelet };

// Cell radius as a fraction of the image side (before the random zoom); platelets have none.
constexpr double kRadius[8] = {0.22, 0.26, 0.17, 0.27, 0.18, 0.30, 0.25, 0.0};

constexpr Od kRedCell = {0.18, 0.34, 0.18};
constexpr Od kNucleus = {1.00, 1.45, 0.62};
constexpr Od kCytoplasm[8] = {
    {0.25, 0.35, 0.15},  // basophil: light purple
    {0.08, 0.20, 0.20},  // eosinophil: pale pink
    {0.35, 0.45, 0.30},  // erythroblast: polychromatic grey-blue
    {0.30, 0.32, 0.14},  // ig: bluish
    {0.38, 0.22, 0.08},  // lymphocyte: sky blue
    {0.32, 0.32, 0.18},  // monocyte: grey-blue
    {0.10, 0.20, 0.12},  // neutrophil: pale lilac
    {0.60, 0.95, 0.40},  // platelet: purple
};
constexpr Od kGranule[8] = {
    {1.50, 1.90, 0.90},  // basophil: blue-black
    {0.12, 0.85, 1.10},  // eosinophil: orange-red
    {0, 0, 0},
    {0.50, 0.90, 0.45},  // ig: purple
    {0, 0, 0},
    {0, 0, 0},
    {0.30, 0.45, 0.25},  // neutrophil: fine, faint
    {0.90, 1.40, 0.60},  // platelet: granulomere
};
// Which stain a structure takes: hematoxylin-like (blue/purple) or eosin-like (pink/orange).
constexpr bool kCytoEosin[8] = {false, true, false, false, false, false, true, false};
constexpr bool kGranEosin[8] = {false, true, false, false, false, false, true, false};

struct Frame {  // the cell's frame: centre, radius, orientation
  double cx, cy, r, cs, sn;
  double x(double lx, double ly) const { return cx + r * (lx * cs - ly * sn); }
  double y(double lx, double ly) const { return cy + r * (lx * sn + ly * cs); }
};

void ellipse(Mask& m, const Frame& f, double lx, double ly, double a, double b, double angle,
             float value = 1.f, Blend blend = Blend::Max) {
  draw_ellipse(m, f.x(lx, ly), f.y(lx, ly), a * f.r, b * f.r, angle + std::atan2(f.sn, f.cs), value, blend);
}
void capsule(Mask& m, const Frame& f, double ax, double ay, double bx, double by, double radius) {
  draw_capsule(m, f.x(ax, ay), f.y(ax, ay), f.x(bx, by), f.y(bx, by), radius * f.r, 1.f, Blend::Max);
}
void blob(Mask& m, const Frame& f, double lx, double ly, double radius, double amp, Rng& rng,
          float value = 1.f, Blend blend = Blend::Max) {
  Blob b;
  b.cx = f.x(lx, ly);
  b.cy = f.y(lx, ly);
  b.radius = radius * f.r;
  for (int k = 0; k < 3; ++k) {
    b.amp[k] = amp * rng.uniform(-1, 1) / (k + 1);
    b.phase[k] = rng.uniform(0, 2 * kPi);
  }
  draw_blob(m, b, value, blend);
}
// A random point in the disc of radius `rmax` (cell frame), uniform by area.
void in_disc(Rng& rng, double rmax, double& lx, double& ly) {
  const double rr = rmax * std::sqrt(rng.uniform()), a = rng.uniform(0, 2 * kPi);
  lx = rr * std::cos(a);
  ly = rr * std::sin(a);
}

// Lobes along an arc: centres on a circle of radius `arc_r` around (ox, oy), from angle a0 over `sweep`.
void lobes_on_arc(Mask& nuc, const Frame& f, Rng& rng, int n, double ox, double oy, double arc_r,
                  double a0, double sweep, double lobe_a, double lobe_b, double strand) {
  double px = 0, py = 0;
  for (int i = 0; i < n; ++i) {
    const double a = a0 + (n == 1 ? 0 : sweep * i / (n - 1)) + rng.uniform(-0.15, 0.15);
    const double rr = arc_r * rng.uniform(0.85, 1.15);
    const double lx = ox + rr * std::cos(a), ly = oy + rr * std::sin(a);
    ellipse(nuc, f, lx, ly, lobe_a * rng.uniform(0.85, 1.15), lobe_b * rng.uniform(0.85, 1.15),
            a + kPi / 2 + rng.uniform(-0.5, 0.5));
    if (i > 0 && strand > 0) capsule(nuc, f, px, py, lx, ly, strand);
    px = lx, py = ly;
  }
}

void granules(Mask& g, const Frame& f, Rng& rng, int count, double radius, double spread, float value) {
  for (int i = 0; i < count; ++i) {
    double lx, ly;
    in_disc(rng, spread, lx, ly);
    const double rr = radius * rng.uniform(0.7, 1.3);
    ellipse(g, f, lx, ly, rr, rr * rng.uniform(0.75, 1.0), rng.uniform(0, kPi), value, Blend::Add);
  }
}

// The white cell (or platelets) of class c: body, nucleus and granule masks.
void draw_structures(int c, const Frame& f, Rng& rng, Mask& body, Mask& nuc, Mask& gran, Mask& vac,
                     double& nuc_density, double& texture_cell) {
  nuc_density = 1.0;
  texture_cell = 0.12;
  if (c != kPlatelet) blob(body, f, 0, 0, 1.0, 0.06, rng);
  switch (c) {
    case kLymphocyte: {
      blob(nuc, f, rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), rng.uniform(0.76, 0.86), 0.05, rng);
      nuc_density = 1.25;
      break;
    }
    case kErythroblast: {
      blob(nuc, f, rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), rng.uniform(0.48, 0.6), 0.03, rng);
      nuc_density = 1.55;
      texture_cell = 0.2;
      break;
    }
    case kIg: {
      const double off = rng.uniform(0.2, 0.35);
      if (rng.bernoulli(0.5)) {
        ellipse(nuc, f, off, 0, rng.uniform(0.5, 0.6), rng.uniform(0.4, 0.5), rng.uniform(-0.4, 0.4));
      } else {  // bean-shaped (metamyelocyte)
        lobes_on_arc(nuc, f, rng, 3, off - 0.35, 0, 0.4, -0.7, 1.4, 0.3, 0.3, 0);
      }
      granules(gran, f, rng, static_cast<int>(rng.uniform(15, 40)), 0.05, 0.9, 0.8f);
      nuc_density = 0.95;
      break;
    }
    case kMonocyte: {  // horseshoe: overlapping discs along a wide arc
      const double sweep = rng.uniform(2.2, 3.6), a0 = -sweep / 2 + kPi;
      const int n = 9;
      const double thick = rng.uniform(0.26, 0.34), arc = rng.uniform(0.38, 0.48);
      for (int i = 0; i < n; ++i) {
        const double a = a0 + sweep * i / (n - 1);
        ellipse(nuc, f, 0.15 + arc * std::cos(a), arc * std::sin(a), thick, thick * 0.9, a);
      }
      const int vacuoles = static_cast<int>(rng.uniform(0, 5));
      for (int i = 0; i < vacuoles; ++i) {
        double lx, ly;
        in_disc(rng, 0.8, lx, ly);
        const double rr = rng.uniform(0.05, 0.1);
        ellipse(vac, f, lx, ly, rr, rr, 0, 1.f);
      }
      nuc_density = 0.85;
      texture_cell = 0.06;
      break;
    }
    case kNeutrophil: {
      const int n = 3 + static_cast<int>(rng.below(3));
      lobes_on_arc(nuc, f, rng, n, 0, 0, rng.uniform(0.38, 0.5), rng.uniform(0, 2 * kPi),
                   rng.uniform(2.4, 4.2), 0.24, 0.19, 0.045);
      granules(gran, f, rng, static_cast<int>(rng.uniform(80, 150)), 0.03, 0.92, 0.6f);
      break;
    }
    case kEosinophil: {
      lobes_on_arc(nuc, f, rng, 2, 0, rng.uniform(-0.15, 0.15), rng.uniform(0.3, 0.4), kPi,
                   kPi * rng.uniform(0.8, 1.0), 0.3, 0.24, 0.05);
      granules(gran, f, rng, static_cast<int>(rng.uniform(140, 200)), 0.065, 0.92, 0.55f);
      break;
    }
    case kBasophil: {
      lobes_on_arc(nuc, f, rng, 2 + static_cast<int>(rng.below(2)), 0, 0, 0.3, rng.uniform(0, 2 * kPi),
                   2.0, 0.3, 0.25, 0.08);
      granules(gran, f, rng, static_cast<int>(rng.uniform(40, 80)), 0.1, 0.9, 0.8f);
      break;
    }
    case kPlatelet: {  // small granular fragments; `body` holds them
      const int n = 1 + static_cast<int>(rng.below(4));
      for (int i = 0; i < n; ++i) {
        double lx, ly;
        in_disc(rng, 1.6, lx, ly);
        const double rr = rng.uniform(0.35, 0.6);
        blob(body, f, lx, ly, rr, 0.15, rng);
        Frame pf = f;
        pf.cx = f.x(lx, ly), pf.cy = f.y(lx, ly), pf.r = f.r * rr;
        granules(gran, pf, rng, static_cast<int>(rng.uniform(4, 10)), 0.18, 0.6, 0.6f);
      }
      break;
    }
    default: throw Error(cat("synth: class ", c, " not in 0..7"));
  }
}

}  // namespace

Image draw_cell(int c, int size, uint64_t seed, int64_t index) {
  if (c < 0 || c >= kNumClasses) throw Error(cat("synth: class ", c, " not in 0..", kNumClasses - 1));
  if (size < 32 || size > 4096) throw Error(cat("synth: size ", size, " not in 32..4096"));
  Rng rng = Rng::derive(seed, static_cast<uint64_t>(c), static_cast<uint64_t>(index));
  const int S = size;
  // Stain, light and the hue drift shared by every structure of this image.
  const double hema = rng.uniform(0.75, 1.3), eosin = rng.uniform(0.75, 1.3);
  Od drift, light;
  const double brightness = rng.uniform(0.9, 1.04);
  for (int k = 0; k < 3; ++k) {
    drift[static_cast<size_t>(k)] = rng.uniform(0.85, 1.15);
    light[static_cast<size_t>(k)] = brightness * rng.uniform(0.95, 1.0) * (k == 0 ? 0.99 : k == 1 ? 0.92 : 0.82);
  }
  const double zoom = rng.uniform(0.85, 1.15), angle = rng.uniform(0, 2 * kPi);
  Frame f{S * (0.5 + rng.uniform(-0.08, 0.08)), S * (0.5 + rng.uniform(-0.08, 0.08)),
          S * zoom * (c == kPlatelet ? 0.08 : kRadius[c]), std::cos(angle), std::sin(angle)};

  Mask body(S, S), nuc(S, S), gran(S, S), vac(S, S), rbc(S, S);
  double nuc_density = 1, texture_cell = 0.12;
  draw_structures(c, f, rng, body, nuc, gran, vac, nuc_density, texture_cell);

  // Red cells around, avoiding each other roughly; the white cell pushes them aside.
  const double rbc_r = S * zoom * rng.uniform(0.10, 0.125);
  const int n_rbc = 8 + static_cast<int>(rng.below(10));
  std::vector<std::array<double, 2>> placed;
  for (int i = 0, tries = 0; i < n_rbc && tries < 60; ++tries) {
    const double x = rng.uniform(-0.1, 1.1) * S, y = rng.uniform(-0.1, 1.1) * S;
    bool ok = true;
    for (const auto& p : placed)
      if (std::hypot(p[0] - x, p[1] - y) < 1.6 * rbc_r) ok = false;
    if (!ok) continue;
    placed.push_back({x, y});
    draw_red_cell(rbc, x, y, rbc_r * rng.uniform(0.9, 1.1), rng.uniform(0.45, 0.8), 1.f);
    ++i;
  }

  const Mask chromatin = value_noise(S, S, std::max(1.0, texture_cell * f.r), rng);
  const Mask cyto_tex = value_noise(S, S, std::max(1.0, 0.35 * f.r), rng);
  const double cyto_stain = kCytoEosin[c] ? eosin : hema, gran_stain = kGranEosin[c] ? eosin : hema;
  std::array<Mask, 3> chan{Mask(S, S), Mask(S, S), Mask(S, S)};
  for (size_t p = 0; p < body.v.size(); ++p) {
    const double b = body.v[p];
    const double red = rbc.v[p] * (1 - 0.95 * b);
    const double cyto = b * (1 - 0.85 * vac.v[p]) * (0.85 + 0.3 * cyto_tex.v[p]);
    const double n = std::min(1.0f, nuc.v[p]) * nuc_density * (0.65 + 0.7 * chromatin.v[p]);
    const double g = std::min(1.5f, gran.v[p]) * b;
    for (size_t k = 0; k < 3; ++k) {
      const double od = drift[k] * (red * kRedCell[k] * eosin + cyto * kCytoplasm[c][k] * cyto_stain +
                                    n * kNucleus[k] * hema + g * kGranule[c][k] * gran_stain);
      chan[k].v[p] = static_cast<float>(255.0 * light[k] * std::exp(-od));
    }
  }
  const double blur = rng.uniform(0.2, 0.9) * S / 128.0, noise = rng.uniform(1.0, 4.0);
  Image img(S, S);
  for (size_t k = 0; k < 3; ++k) {
    gaussian_blur(chan[k], blur);
    for (size_t p = 0; p < chan[k].v.size(); ++p) {
      const double v = chan[k].v[p] + noise * rng.normal();
      img.rgb[3 * p + k] = static_cast<uint8_t>(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5);
    }
  }
  return img;
}

}  // namespace hemo::data::synth
