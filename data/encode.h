// Image encoding, for the synthetic dataset and for tests: PNG through stb_image_write (compiled
// in stb_impl.cpp), JPEG through TurboJPEG. Both take an RGB8 image (image.h) and return the file
// bytes; write them with write_file_atomic (io.h). Errors are hemo::Error.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/image.h"

namespace hemo::data {

// Lossless PNG, 8-bit RGB (colour type 2).
std::vector<uint8_t> encode_png(const Image& img);

// Baseline JPEG, 4:2:0 chroma subsampling, quality 1..100.
std::vector<uint8_t> encode_jpeg(const Image& img, int quality = 90);

// Encodes by the extension of `path` (.png, .jpg/.jpeg; case-insensitive) and writes atomically.
void save_image(const std::filesystem::path& path, const Image& img, int jpeg_quality = 90);

}  // namespace hemo::data
