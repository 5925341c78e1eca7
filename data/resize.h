// Geometric transforms on RGB8 images (image.h): resize, crop, flips. All return a new image (or
// work in place where named so) and never read outside the input.
//
// Resize is separable and PIL-like: each output pixel is a weighted sum of input pixels with the
// triangle (bilinear) filter f(t) = max(0, 1 - |t|). For an output of length `out` over an input
// span of length `in`, scale = in / out and output pixel i is centred at (i + 0.5) * scale in
// input coordinates. When shrinking (scale > 1) the filter is stretched by `scale`, so every input
// pixel contributes (antialiasing: what PIL and torchvision's antialias=True do); when enlarging
// it is plain bilinear interpolation. Weights are normalised to sum to 1 and taps are clamped to
// the span, so edges never see pixels outside it. Horizontal pass first into a float buffer,
// then vertical; one rounding at the end (round half up, clamp to 0..255).
#pragma once
#include "data/image.h"

namespace hemo::data {

// Resizes the region x0 <= x < x0 + w, y0 <= y < y0 + h of `in` (which must lie inside it) to
// out_w x out_h. torchvision's resized_crop(img, top=y0, left=x0, height=h, width=w, size).
Image resize_region(const Image& in, int x0, int y0, int w, int h, int out_w, int out_h);

// Whole-image resize to out_w x out_h.
Image resize(const Image& in, int out_w, int out_h);

// torchvision Resize(int): the shorter side becomes `size`, the longer one
// int(size * long / short) (truncated), keeping the aspect ratio.
Image resize_shorter_side(const Image& in, int size);

// Copies the w x h window with top-left corner (x0, y0); parts outside `in` get `fill`.
Image crop(const Image& in, int x0, int y0, int w, int h, uint8_t fill = 0);

// torchvision CenterCrop: top = round((H - h) / 2), left = round((W - w) / 2) with round half to
// even as Python's round; zero padding when the crop is larger than the image.
Image center_crop(const Image& in, int w, int h);

void hflip_inplace(Image& img);  // mirror left-right
void vflip_inplace(Image& img);  // mirror top-bottom

}  // namespace hemo::data
