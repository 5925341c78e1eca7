// hemo::data::Image: the one pixel buffer of the data pipeline. Interleaved 8-bit RGB, rows top to
// bottom, no padding (HWC, stride = 3 * width). Every decoder produces it, every geometric
// transform takes and returns it; only the last step (color.h) turns it into float CHW.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hemo::data {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // size == 3 * width * height

  Image() = default;
  // A width x height image filled with `fill` in every channel.
  Image(int w, int h, uint8_t fill = 0)
      : width(w), height(h), rgb(static_cast<size_t>(w) * static_cast<size_t>(h) * 3, fill) {}

  bool empty() const { return width <= 0 || height <= 0; }
  size_t pixels() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
  uint8_t* row(int y) { return rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3; }
  const uint8_t* row(int y) const {
    return rgb.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3;
  }
  uint8_t* at(int x, int y) { return row(y) + static_cast<size_t>(x) * 3; }
  const uint8_t* at(int x, int y) const { return row(y) + static_cast<size_t>(x) * 3; }
  friend bool operator==(const Image&, const Image&) = default;
};

}  // namespace hemo::data
