#include "data/synth_raster.h"

#include <algorithm>
#include <cmath>

namespace hemo::data::synth {

namespace {

inline float coverage(double signed_dist) {  // 1 inside, 0 outside, linear over 1 px
  const double c = 0.5 - signed_dist;
  return static_cast<float>(c <= 0 ? 0 : c >= 1 ? 1 : c);
}

inline void put(Mask& m, int x, int y, float c, Blend blend) {
  float& d = m.at(x, y);
  d = blend == Blend::Max ? std::max(d, c) : d + c;
}

// Pixel range [lo, hi) covering [a - r, a + r], clipped to [0, n).
inline void span(double a, double r, int n, int& lo, int& hi) {
  lo = std::max(0, static_cast<int>(std::floor(a - r - 1)));
  hi = std::min(n, static_cast<int>(std::ceil(a + r + 1)));
}

}  // namespace

void draw_ellipse(Mask& m, double cx, double cy, double a, double b, double angle, float value,
                  Blend blend) {
  if (a <= 0 || b <= 0) return;
  const double r = std::max(a, b);
  int x0, x1, y0, y1;
  span(cx, r, m.w, x0, x1);
  span(cy, r, m.h, y0, y1);
  const double c = std::cos(angle), s = std::sin(angle), mn = std::min(a, b);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const double u = (c * dx + s * dy) / a, v = (-s * dx + c * dy) / b;
      const float cov = coverage((std::sqrt(u * u + v * v) - 1) * mn);
      if (cov > 0) put(m, x, y, cov * value, blend);
    }
}

void draw_capsule(Mask& m, double xa, double ya, double xb, double yb, double radius, float value,
                  Blend blend) {
  int x0, x1, y0, y1;
  span((xa + xb) / 2, std::abs(xa - xb) / 2 + radius, m.w, x0, x1);
  span((ya + yb) / 2, std::abs(ya - yb) / 2 + radius, m.h, y0, y1);
  const double ex = xb - xa, ey = yb - ya, len2 = std::max(ex * ex + ey * ey, 1e-12);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const double px = x + 0.5 - xa, py = y + 0.5 - ya;
      const double t = std::clamp((px * ex + py * ey) / len2, 0.0, 1.0);
      const double dx = px - t * ex, dy = py - t * ey;
      const float cov = coverage(std::sqrt(dx * dx + dy * dy) - radius);
      if (cov > 0) put(m, x, y, cov * value, blend);
    }
}

void draw_blob(Mask& m, const Blob& b, float value, Blend blend) {
  const double rmax = b.radius * (1 + std::abs(b.amp[0]) + std::abs(b.amp[1]) + std::abs(b.amp[2]));
  int x0, x1, y0, y1;
  span(b.cx, rmax, m.w, x0, x1);
  span(b.cy, rmax, m.h, y0, y1);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const double dx = x + 0.5 - b.cx, dy = y + 0.5 - b.cy;
      const double phi = std::atan2(dy, dx);
      double r = 1;
      for (int k = 0; k < 3; ++k) r += b.amp[k] * std::cos((k + 2) * phi + b.phase[k]);
      const float cov = coverage(std::sqrt(dx * dx + dy * dy) - b.radius * r);
      if (cov > 0) put(m, x, y, cov * value, blend);
    }
}

void draw_red_cell(Mask& m, double cx, double cy, double radius, double pallor, float value) {
  int x0, x1, y0, y1;
  span(cx, radius, m.w, x0, x1);
  span(cy, radius, m.h, y0, y1);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const double d = std::sqrt(dx * dx + dy * dy);
      const float cov = coverage(d - radius);
      if (cov <= 0) continue;
      const double q = std::min(d / radius, 1.0);
      const double thickness = 1.0 - pallor * std::exp(-q * q * 4.0);  // pale centre
      m.at(x, y) += cov * value * static_cast<float>(thickness);
    }
}

Mask value_noise(int w, int h, double cell, Rng& rng) {
  cell = std::max(cell, 1.0);
  const int gw = static_cast<int>(std::ceil(w / cell)) + 3, gh = static_cast<int>(std::ceil(h / cell)) + 3;
  std::vector<float> grid(static_cast<size_t>(gw) * gh);
  for (float& g : grid) g = static_cast<float>(rng.uniform());
  auto smooth = [](double t) { return t * t * (3 - 2 * t); };
  Mask m(w, h);
  for (int y = 0; y < h; ++y) {
    const double gy = (y + 0.5) / cell;
    const int iy = static_cast<int>(gy);
    const double ty = smooth(gy - iy);
    for (int x = 0; x < w; ++x) {
      const double gx = (x + 0.5) / cell;
      const int ix = static_cast<int>(gx);
      const double tx = smooth(gx - ix);
      const float* r0 = &grid[static_cast<size_t>(iy) * gw + ix];
      const float* r1 = r0 + gw;
      const double top = r0[0] + (r0[1] - r0[0]) * tx, bot = r1[0] + (r1[1] - r1[0]) * tx;
      m.at(x, y) = static_cast<float>(top + (bot - top) * ty);
    }
  }
  return m;
}

void gaussian_blur(Mask& m, double sigma) {
  if (sigma <= 0.05) return;
  const int r = std::max(1, static_cast<int>(std::ceil(3 * sigma)));
  std::vector<float> k(static_cast<size_t>(2 * r + 1));
  double total = 0;
  for (int i = -r; i <= r; ++i) total += k[static_cast<size_t>(i + r)] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v = static_cast<float>(v / total);
  std::vector<float> tmp(m.v.size());
  for (int y = 0; y < m.h; ++y)
    for (int x = 0; x < m.w; ++x) {
      float acc = 0;
      for (int i = -r; i <= r; ++i) acc += k[static_cast<size_t>(i + r)] * m.at(std::clamp(x + i, 0, m.w - 1), y);
      tmp[static_cast<size_t>(y) * m.w + x] = acc;
    }
  for (int y = 0; y < m.h; ++y)
    for (int x = 0; x < m.w; ++x) {
      float acc = 0;
      for (int i = -r; i <= r; ++i) acc += k[static_cast<size_t>(i + r)] * tmp[static_cast<size_t>(std::clamp(y + i, 0, m.h - 1)) * m.w + x];
      m.at(x, y) = acc;
    }
}

}  // namespace hemo::data::synth
