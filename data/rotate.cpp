#include "data/rotate.h"

#include <cmath>

#include "core/error.h"

namespace hemo::data {

namespace {

// Snaps values within 1e-12 of an integer (cos 90 degrees is 6e-17, not 0) so quarter turns are exact.
double snap(double v) {
  const double r = std::round(v);
  return std::abs(v - r) < 1e-12 ? r : v;
}

}  // namespace

Image rotate(const Image& in, double degrees, Interp interp, std::array<uint8_t, 3> fill) {
  if (in.empty()) throw Error("rotate: empty input image");
  if (!std::isfinite(degrees)) throw Error(cat("rotate: angle ", degrees, " is not finite"));
  const double rad = degrees * 3.14159265358979323846 / 180.0;
  const double cs = snap(std::cos(rad)), sn = snap(std::sin(rad));
  const int W = in.width, H = in.height;
  const double cx = W / 2.0, cy = H / 2.0;
  Image out(W, H);
  const float f0 = fill[0], f1 = fill[1], f2 = fill[2];
  for (int y = 0; y < H; ++y) {
    const double dy = y + 0.5 - cy;
    // s = R (p - c) + c; along a row, s moves by (cs, sn) per pixel.
    double sx = cs * (0.5 - cx) - sn * dy + cx;
    double sy = sn * (0.5 - cx) + cs * dy + cy;
    uint8_t* dst = out.row(y);
    for (int x = 0; x < W; ++x, sx += cs, sy += sn, dst += 3) {
      if (interp == Interp::Nearest) {
        const double fx = std::floor(sx), fy = std::floor(sy);
        if (fx >= 0 && fy >= 0 && fx < W && fy < H) {
          const uint8_t* p = in.at(static_cast<int>(fx), static_cast<int>(fy));
          dst[0] = p[0], dst[1] = p[1], dst[2] = p[2];
        } else {
          dst[0] = fill[0], dst[1] = fill[1], dst[2] = fill[2];
        }
        continue;
      }
      // Pixel centres sit at integer + 0.5: tap (x0, y0) is the one up-left of s.
      const double ux = sx - 0.5, uy = sy - 0.5;
      if (ux <= -1.0 || uy <= -1.0 || ux >= W || uy >= H) {
        dst[0] = fill[0], dst[1] = fill[1], dst[2] = fill[2];
        continue;
      }
      const double flx = std::floor(ux), fly = std::floor(uy);
      const int x0 = static_cast<int>(flx), y0 = static_cast<int>(fly);
      const float ax = static_cast<float>(ux - flx), ay = static_cast<float>(uy - fly);
      float c0, c1, c2;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const uint8_t* p00 = in.at(x0, y0);
        const uint8_t* p10 = p00 + 3;
        const uint8_t* p01 = p00 + static_cast<size_t>(W) * 3;
        const uint8_t* p11 = p01 + 3;
        const float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
        c0 = w00 * p00[0] + w10 * p10[0] + w01 * p01[0] + w11 * p11[0];
        c1 = w00 * p00[1] + w10 * p10[1] + w01 * p01[1] + w11 * p11[1];
        c2 = w00 * p00[2] + w10 * p10[2] + w01 * p01[2] + w11 * p11[2];
      } else {
        c0 = c1 = c2 = 0;
        for (int k = 0; k < 4; ++k) {
          const int tx = x0 + (k & 1), ty = y0 + (k >> 1);
          const float w = ((k & 1) ? ax : 1 - ax) * ((k >> 1) ? ay : 1 - ay);
          if (tx >= 0 && ty >= 0 && tx < W && ty < H) {
            const uint8_t* p = in.at(tx, ty);
            c0 += w * p[0], c1 += w * p[1], c2 += w * p[2];
          } else {
            c0 += w * f0, c1 += w * f1, c2 += w * f2;
          }
        }
      }
      dst[0] = static_cast<uint8_t>(c0 + 0.5f);
      dst[1] = static_cast<uint8_t>(c1 + 0.5f);
      dst[2] = static_cast<uint8_t>(c2 + 0.5f);
    }
  }
  return out;
}

}  // namespace hemo::data
