// Image encoding, for the synthetic dataset, Grad-CAM's outputs and tests: PNG through
// stb_image_write (compiled in stb_impl.cpp; 16-bit greyscale with its deflate and hemo's own
// chunk writer, since stb writes 8-bit only), JPEG through TurboJPEG. Both take an RGB8 image (image.h) and return the file
// bytes; write them with write_file_atomic (io.h). Errors are hemo::Error.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "data/image.h"

namespace hemo::data {

// Lossless PNG, 8-bit RGB (colour type 2).
std::vector<uint8_t> encode_png(const Image& img);

// Lossless PNG, 16-bit greyscale (colour type 0, bit depth 16): `values` holds width * height
// samples, rows top to bottom (Grad-CAM's raw maps, 0..65535 for 0..1).
std::vector<uint8_t> encode_png_gray16(int width, int height, std::span<const uint16_t> values);

// Baseline JPEG, 4:2:0 chroma subsampling, quality 1..100.
std::vector<uint8_t> encode_jpeg(const Image& img, int quality = 90);

// Encodes by the extension of `path` (.png, .jpg/.jpeg; case-insensitive) and writes atomically.
void save_image(const std::filesystem::path& path, const Image& img, int jpeg_quality = 90);

}  // namespace hemo::data
