// Image decoding: JPEG through libjpeg-turbo's TurboJPEG API, PNG and BMP through stb_image
// (compiled in stb_impl.cpp for those two formats only; no GIF). The format is recognised from
// the file's first bytes, never from its extension.
//
// Every decoder returns 8-bit RGB (image.h):
//   grayscale, gray+alpha, RGBA, palette (with or without transparency) and 16-bit PNG -> RGB8
//   (alpha is dropped without compositing, 16-bit keeps the high byte: as PIL's convert("RGB"));
//   grayscale JPEG -> RGB8; BMP (1/4/8/16/24/32 bit) -> RGB8;
//   CMYK and YCCK JPEG -> RGB8 as PIL's Image.open(f).convert("RGB") (adobe_cmyk_to_rgb below);
//   GIF, TIFF, WebP and anything else -> hemo::Error "unsupported ...".
// Dimensions are read from the header and checked against DecodeOptions::max_pixels before any
// pixel buffer is allocated; after that, no single allocation of stb_image may exceed what an
// image of those dimensions needs (so a zlib bomb or a lying PNG chunk length is an error, not
// gigabytes). A truncated or corrupt file is an error (libjpeg's "premature end of data" warning
// included), never a partially grey image.
//
// Errors are hemo::Error whose message starts with the name given (usually the path):
//   "data/x.jpg: not a JPEG, PNG or BMP image (first bytes 00 00 00 01 42 75 64 31)".
// Thread safety: all functions may be called concurrently from any number of threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/image.h"
#include "data/io.h"

namespace hemo::data {

enum class ImageFormat { Unknown, Jpeg, Png, Bmp, Gif, Tiff, WebP };
const char* format_name(ImageFormat f);

// Recognises a format from the first bytes (JPEG FF D8 FF, PNG signature, "BM", GIF8, II*/MM*,
// RIFF....WEBP). Needs at most 12 bytes; shorter input gives Unknown unless it already matches.
ImageFormat sniff_format(std::span<const uint8_t> bytes);

struct DecodeOptions {
  // Largest accepted width * height; larger images are refused before allocation (64 Mpx).
  int64_t max_pixels = int64_t{64} << 20;
};

struct ImageInfo {
  ImageFormat format = ImageFormat::Unknown;
  int width = 0;
  int height = 0;
};

// Reads only the header: format and dimensions, checked against opts.max_pixels.
// Throws hemo::Error (prefixed with `name`) for unknown/unsupported formats and bad headers.
ImageInfo probe_image(std::span<const uint8_t> bytes, std::string_view name,
                      const DecodeOptions& opts = {});

// Decodes a whole image held in memory. Throws hemo::Error prefixed with `name`.
Image decode_image(std::span<const uint8_t> bytes, std::string_view name,
                   const DecodeOptions& opts = {});

// Reads `path` and decodes it. A missing file, a directory or an unreadable file is a
// hemo::Error naming the path and the reason.
Image load_image(const std::filesystem::path& path, const DecodeOptions& opts = {});

namespace detail {
// PNG and BMP headers read by hemo itself (decode_headers.cpp), so sizes are checked before stb
// allocates anything and errors say what is wrong with this format. A BMP whose pixel data is
// shorter than its header promises is refused here (stb would silently fill it with zeros).
ImageInfo png_header(std::span<const uint8_t> bytes, std::string_view name);
ImageInfo bmp_header(std::span<const uint8_t> bytes, std::string_view name, const DecodeOptions& opts);
// stb_image side (stb_impl.cpp): PNG and BMP only; `info` is the header already checked.
Image stb_decode(std::span<const uint8_t> bytes, std::string_view name, const ImageInfo& info);
void check_dimensions(int width, int height, std::string_view name, const DecodeOptions& opts);
// CMYK as decoded from a CMYK or YCCK JPEG (4 bytes per pixel) -> RGB8, as PIL 9 does. The JPEG
// holds Adobe's inverted CMYK (what Photoshop writes; PIL assumes it for every CMYK JPEG, APP14
// marker or not), s = 255 - ink; with C = 255 - s_c and K = 255 - s_k, PIL's cmyk2rgb gives
//   R = (255 - K) - round((255 - K) * C / 255)   (G from M, B from Y alike),
// the division rounded to nearest, exact for all inputs: ((t >> 8) + t) >> 8, t = a * b + 128.
// No colour management (no ICC profile is applied), as in PIL's convert("RGB").
void adobe_cmyk_to_rgb(std::span<const uint8_t> cmyk, std::span<uint8_t> rgb);
}  // namespace detail

}  // namespace hemo::data
