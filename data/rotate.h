// Rotation of an RGB8 image about its centre, keeping its size (torchvision's rotate with
// expand=False and PIL's Image.rotate).
//
// Positive angles turn the picture counter-clockwise as displayed (y pointing down), like
// torchvision. Output pixel (x, y), whose centre is p = (x + 0.5, y + 0.5), samples the input at
//   s = R(angle) (p - c) + c,   c = (W / 2, H / 2),   R = [cos -sin; sin cos]
// (the inverse of the forward rotation). Bilinear sampling weights the four input pixels whose
// centres surround s; a tap that falls outside the image reads `fill`, so the border blends
// smoothly into the fill colour. Nearest takes the pixel that contains s, or `fill` outside.
// A multiple of 90 degrees on a square image moves pixels exactly (no blur).
#pragma once
#include <array>
#include <cstdint>

#include "data/image.h"

namespace hemo::data {

enum class Interp { Nearest, Bilinear };

Image rotate(const Image& in, double degrees, Interp interp = Interp::Bilinear,
             std::array<uint8_t, 3> fill = {0, 0, 0});

}  // namespace hemo::data
