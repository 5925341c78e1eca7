#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace hemo::data {

namespace {

// Filter taps of one output pixel: weights for input positions first .. first + count - 1.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weight;  // out * max_taps, normalised
  int max_taps = 0;
};

Taps make_taps(int in_len, int out_len) {
  const double scale = static_cast<double>(in_len) / out_len;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // bilinear support 1, stretched when shrinking
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(static_cast<size_t>(out_len));
  t.count.resize(static_cast<size_t>(out_len));
  t.weight.assign(static_cast<size_t>(out_len) * static_cast<size_t>(t.max_taps), 0.f);
  std::vector<double> w(static_cast<size_t>(t.max_taps));
  for (int i = 0; i < out_len; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(std::floor(center - support + 0.5)), 0);
    const int hi = std::min(static_cast<int>(std::floor(center + support + 0.5)), in_len);
    double total = 0;
    int n = 0;
    for (int x = lo; x < hi && n < t.max_taps; ++x, ++n) {
      const double d = std::abs((x + 0.5 - center) / filter_scale);
      w[static_cast<size_t>(n)] = d < 1.0 ? 1.0 - d : 0.0;
      total += w[static_cast<size_t>(n)];
    }
    t.first[static_cast<size_t>(i)] = lo;
    t.count[static_cast<size_t>(i)] = n;
    float* dst = &t.weight[static_cast<size_t>(i) * static_cast<size_t>(t.max_taps)];
    for (int k = 0; k < n; ++k)
      dst[k] = total > 0 ? static_cast<float>(w[static_cast<size_t>(k)] / total) : 0.f;
  }
  return t;
}

inline uint8_t to_u8(float v) {
  const float r = v + 0.5f;
  return r <= 0.f ? 0 : r >= 255.f ? 255 : static_cast<uint8_t>(r);
}

void check_region(const Image& in, int x0, int y0, int w, int h, int out_w, int out_h) {
  if (in.empty()) throw Error("resize: empty input image");
  if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > in.width || y0 + h > in.height)
    throw Error(cat("resize: region ", w, "x", h, "+", x0, "+", y0, " is not inside the ", in.width,
                    "x", in.height, " image"));
  if (out_w <= 0 || out_h <= 0) throw Error(cat("resize: invalid output size ", out_w, "x", out_h));
}

}  // namespace

Image resize_region(const Image& in, int x0, int y0, int w, int h, int out_w, int out_h) {
  check_region(in, x0, y0, w, h, out_w, out_h);
  const Taps tx = make_taps(w, out_w);
  const Taps ty = make_taps(h, out_h);
  // Horizontal pass over the rows of the region: tmp is h x out_w x 3 floats.
  std::vector<float> tmp(static_cast<size_t>(h) * static_cast<size_t>(out_w) * 3);
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = in.at(x0, y0 + y);
    float* dst = &tmp[static_cast<size_t>(y) * static_cast<size_t>(out_w) * 3];
    for (int i = 0; i < out_w; ++i) {
      const float* wt = &tx.weight[static_cast<size_t>(i) * static_cast<size_t>(tx.max_taps)];
      const uint8_t* p = src + static_cast<size_t>(tx.first[static_cast<size_t>(i)]) * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0, n = tx.count[static_cast<size_t>(i)]; k < n; ++k, p += 3) {
        r += wt[k] * p[0];
        g += wt[k] * p[1];
        b += wt[k] * p[2];
      }
      dst[3 * i] = r;
      dst[3 * i + 1] = g;
      dst[3 * i + 2] = b;
    }
  }
  // Vertical pass: accumulate whole rows (contiguous, vectorises).
  Image out(out_w, out_h);
  const size_t row_len = static_cast<size_t>(out_w) * 3;
  std::vector<float> acc(row_len);
  for (int j = 0; j < out_h; ++j) {
    std::fill(acc.begin(), acc.end(), 0.f);
    const float* wt = &ty.weight[static_cast<size_t>(j) * static_cast<size_t>(ty.max_taps)];
    const int first = ty.first[static_cast<size_t>(j)];
    for (int k = 0, n = ty.count[static_cast<size_t>(j)]; k < n; ++k) {
      const float* src = &tmp[static_cast<size_t>(first + k) * row_len];
      const float wk = wt[k];
      for (size_t q = 0; q < row_len; ++q) acc[q] += wk * src[q];
    }
    uint8_t* dst = out.row(j);
    for (size_t q = 0; q < row_len; ++q) dst[q] = to_u8(acc[q]);
  }
  return out;
}

Image resize(const Image& in, int out_w, int out_h) {
  return resize_region(in, 0, 0, in.width, in.height, out_w, out_h);
}

Image resize_shorter_side(const Image& in, int size) {
  if (in.empty()) throw Error("resize_shorter_side: empty input image");
  if (size <= 0) throw Error(cat("resize_shorter_side: invalid size ", size));
  if (in.width <= in.height) {
    const int h = static_cast<int>(static_cast<int64_t>(size) * in.height / in.width);
    return resize(in, size, h);
  }
  const int w = static_cast<int>(static_cast<int64_t>(size) * in.width / in.height);
  return resize(in, w, size);
}

Image crop(const Image& in, int x0, int y0, int w, int h, uint8_t fill) {
  if (w <= 0 || h <= 0) throw Error(cat("crop: invalid size ", w, "x", h));
  Image out(w, h, fill);
  const int xa = std::max(x0, 0), xb = std::min(x0 + w, in.width);
  const int ya = std::max(y0, 0), yb = std::min(y0 + h, in.height);
  if (xa >= xb || ya >= yb) return out;
  for (int y = ya; y < yb; ++y)
    std::memcpy(out.at(xa - x0, y - y0), in.at(xa, y), static_cast<size_t>(xb - xa) * 3);
  return out;
}

Image center_crop(const Image& in, int w, int h) {
  if (in.empty()) throw Error("center_crop: empty input image");
  // std::nearbyint rounds half to even in the default rounding mode, as Python's round().
  const int top = static_cast<int>(std::nearbyint((in.height - h) / 2.0));
  const int left = static_cast<int>(std::nearbyint((in.width - w) / 2.0));
  return crop(in, left, top, w, h);
}

void hflip_inplace(Image& img) {
  for (int y = 0; y < img.height; ++y) {
    uint8_t* r = img.row(y);
    for (int a = 0, b = img.width - 1; a < b; ++a, --b)
      for (int c = 0; c < 3; ++c) std::swap(r[3 * a + c], r[3 * b + c]);
  }
}

void vflip_inplace(Image& img) {
  const size_t len = static_cast<size_t>(img.width) * 3;
  for (int a = 0, b = img.height - 1; a < b; ++a, --b) std::swap_ranges(img.row(a), img.row(a) + len, img.row(b));
}

}  // namespace hemo::data
