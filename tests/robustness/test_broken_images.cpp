// The broken-input corpus, generated at test time: every truncation of real JPEGs and PNGs,
// empty and random files, byte mutations, huge declared sizes, unusual PNG layouts, a CMYK JPEG,
// a directory named x.jpg. Each must decode to an image or fail with hemo::Error: never a crash,
// a hang, another exception type, or (under -DHEMO_SANITIZE=address,undefined) a sanitizer report.
#include <doctest/doctest.h>

#include <turbojpeg.h>

#include <chrono>

#include "../data/data_test_util.h"
#include "data/decode.h"
#include "data/image_folder.h"
#include "data/resize.h"
#include "data/rng.h"
#include "png_craft.h"
#include "tensor/error.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {

struct Tally {
  int64_t decoded = 0, refused = 0;
};

// Decodes `bytes`; an image must be consistent, anything else must be hemo::Error.
void try_decode(std::span<const uint8_t> bytes, Tally& t, const char* what) {
  try {
    const Image img = decode_image(bytes, what);
    REQUIRE(img.width > 0);
    REQUIRE(img.rgb.size() == img.pixels() * 3);
    ++t.decoded;
  } catch (const hemo::Error& e) {
    REQUIRE(std::string(e.what()).rfind(what, 0) == 0);  // the message names the input
    ++t.refused;
  }
}

std::vector<uint8_t> jpeg_from(const Image& img, int quality, int flags, int subsamp = TJSAMP_420,
                               int pixel_format = TJPF_RGB) {
  tjhandle h = tjInitCompress();
  REQUIRE(h != nullptr);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(h, img.rgb.data(), img.width, 0, img.height, pixel_format, &buf, &size,
                             subsamp, quality, flags);
  const std::string err = rc ? tjGetErrorStr2(h) : "";
  std::vector<uint8_t> out(buf, buf + (rc ? 0 : size));
  tjFree(buf);
  tjDestroy(h);
  REQUIRE_MESSAGE(rc == 0, err);
  return out;
}

// Seed inputs: a real JPEG (or synthetic when ../shared is absent) at full size, and small
// re-encodings (baseline, progressive, grayscale), PNG and BMP.
struct Seeds {
  std::vector<uint8_t> real_jpeg, small_jpeg, progressive, gray_jpeg, png, bmp;
};

Seeds make_seeds() {
  Seeds s;
  const auto files = test::real_or_synthetic_jpegs(test::scratch_dir("robust_seed"), 1);
  s.real_jpeg = read_file_bytes(files[0]);
  const Image small = resize(decode_image(s.real_jpeg, "seed"), 64, 64);
  s.small_jpeg = jpeg_from(small, 85, 0);
  s.progressive = jpeg_from(small, 85, TJFLAG_PROGRESSIVE);
  s.gray_jpeg = jpeg_from(small, 85, 0, TJSAMP_GRAY);
  s.png = encode_png(small);
  // A 24-bit BMP, written by hand: 14-byte file header, 40-byte info header, bottom-up rows.
  const uint32_t row = (64 * 3 + 3) & ~3u, size = 54 + row * 64;
  auto le = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) s.bmp.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  s.bmp = {'B', 'M'};
  le(size, 4), le(0, 4), le(54, 4), le(40, 4), le(64, 4), le(64, 4), le(1, 2), le(24, 2);
  le(0, 4), le(row * 64, 4), le(2835, 4), le(2835, 4), le(0, 4), le(0, 4);
  for (int y = 63; y >= 0; --y) {
    for (int x = 0; x < 64; ++x)
      for (int c = 2; c >= 0; --c) s.bmp.push_back(small.at(x, y)[c]);
    s.bmp.resize(s.bmp.size() + row - 64 * 3, 0);
  }
  return s;
}

}  // namespace

TEST_CASE("every truncation of real JPEGs, PNG and BMP gives an image or a clear error") {
  const Seeds s = make_seeds();
  const auto start = std::chrono::steady_clock::now();
  int64_t total = 0;
  for (const auto* seed : {&s.real_jpeg, &s.small_jpeg, &s.progressive, &s.gray_jpeg, &s.png, &s.bmp}) {
    Tally t;
    // The whole file must decode.
    try_decode(*seed, t, "whole");
    REQUIRE(t.decoded == 1);
    t = {};
    for (size_t len = 0; len < seed->size(); ++len) try_decode(std::span(seed->data(), len), t, "cut");
    total += t.decoded + t.refused;
    MESSAGE(seed->size(), "-byte seed: ", t.refused, " truncations refused, ", t.decoded, " decoded");
    // Truncated JPEG data is never silently accepted.
    if (seed != &s.png && seed != &s.bmp) CHECK(t.decoded == 0);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(total, " truncated inputs in ", secs, " s");
}

TEST_CASE("empty, random and mutated bytes give an image or a clear error") {
  const Seeds s = make_seeds();
  Tally t;
  try_decode({}, t, "empty");
  CHECK(t.refused == 1);
  Rng rng(2024);
  const std::vector<std::vector<uint8_t>> magics = {
      {}, {0xFF, 0xD8, 0xFF}, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, {'B', 'M'}, {'G', 'I', 'F', '8'}};
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> b = magics[static_cast<size_t>(i) % magics.size()];
    const size_t n = rng.below(4096);
    for (size_t k = 0; k < n; ++k) b.push_back(static_cast<uint8_t>(rng.next_u64()));
    try_decode(b, t, "random");
  }
  // Mutants: 1-8 random bytes overwritten in a valid file (headers included).
  for (const auto* seed : {&s.small_jpeg, &s.progressive, &s.png, &s.bmp}) {
    for (int i = 0; i < 1500; ++i) {
      std::vector<uint8_t> b = *seed;
      const int edits = 1 + static_cast<int>(rng.below(8));
      for (int e = 0; e < edits; ++e) {
        // Half the edits hit the first 64 bytes, where the headers are.
        const size_t at = rng.bernoulli(0.5) ? rng.below(std::min<size_t>(64, b.size())) : rng.below(b.size());
        b[at] = static_cast<uint8_t>(rng.next_u64());
      }
      try_decode(b, t, "mutant");
    }
  }
  const int64_t inputs = t.decoded + t.refused;
  MESSAGE(inputs, " random/mutated inputs: ", t.refused, " refused, ", t.decoded, " decoded");
}

TEST_CASE("huge declared sizes are refused before allocation") {
  const Seeds s = make_seeds();
  // JPEG: patch the SOF0 marker's height and width (big-endian at +5 and +7).
  std::vector<uint8_t> jpeg = s.small_jpeg;
  size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && (jpeg[sof + 1] == 0xC0 || jpeg[sof + 1] == 0xC2)))
    sof += 2 + (size_t(jpeg[sof + 2]) << 8 | jpeg[sof + 3]);
  REQUIRE(sof + 9 < jpeg.size());
  jpeg[sof + 5] = jpeg[sof + 7] = 0xFD;  // 65000 x 65000
  jpeg[sof + 6] = jpeg[sof + 8] = 0xE8;
  CHECK_THROWS_WITH_AS(decode_image(jpeg, "huge.jpg"), doctest::Contains("larger than the limit"), hemo::Error);
  CHECK_THROWS_WITH_AS(probe_image(jpeg, "huge.jpg"), doctest::Contains("65000x65000"), hemo::Error);
  // PNG: IHDR 100000 x 100000 with a valid CRC; and the largest size PNG allows.
  CHECK_THROWS_WITH_AS(decode_image(test::patch_png_size(s.png, 100000, 100000), "huge.png"),
                       doctest::Contains("larger than the limit"), hemo::Error);
  CHECK_THROWS_AS(decode_image(test::patch_png_size(s.png, 0x7FFFFFFF, 0x7FFFFFFF), "max.png"), hemo::Error);
  CHECK_THROWS_AS(decode_image(test::patch_png_size(s.png, 0, 64), "zero.png"), hemo::Error);
  // A size under the limit but with far too little data: an error, not a huge read.
  CHECK_THROWS_AS(decode_image(test::patch_png_size(s.png, 8000, 8000), "short.png"), hemo::Error);
  // BMP: width and height at offsets 18 and 22 (little-endian, height may be negative).
  std::vector<uint8_t> bmp = s.bmp;
  for (int k : {18, 22}) bmp[static_cast<size_t>(k)] = 0x50, bmp[static_cast<size_t>(k) + 1] = 0xC3, bmp[static_cast<size_t>(k) + 2] = 0;  // 50000
  CHECK_THROWS_WITH_AS(decode_image(bmp, "huge.bmp"), doctest::Contains("larger than the limit"), hemo::Error);
  for (int k = 18; k < 26; ++k) bmp[static_cast<size_t>(k)] = 0xFF;  // -1 x -1
  CHECK_THROWS_AS(decode_image(bmp, "neg.bmp"), hemo::Error);
}

TEST_CASE("16-bit, palette, gray and gray+alpha PNGs become RGB8") {
  Tally t;
  // 16-bit RGB: the high byte survives.
  const auto rgb16 = test::make_png(2, 1, 16, 2, {{0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00, 0x00, 0x01, 0x80, 0x00, 0x7F, 0xFF}});
  Image img = decode_image(rgb16, "rgb16.png");
  CHECK(img.rgb == std::vector<uint8_t>{0x12, 0xAB, 0xFF, 0x00, 0x80, 0x7F});
  // 16-bit gray and gray+alpha, 16-bit RGBA.
  img = decode_image(test::make_png(1, 1, 16, 0, {{0xC0, 0x01}}), "gray16.png");
  CHECK(img.rgb == std::vector<uint8_t>{0xC0, 0xC0, 0xC0});
  img = decode_image(test::make_png(1, 1, 16, 4, {{0x40, 0, 0x00, 0}}), "ga16.png");
  CHECK(img.rgb == std::vector<uint8_t>{0x40, 0x40, 0x40});
  img = decode_image(test::make_png(1, 1, 16, 6, {{1, 0, 2, 0, 3, 0, 0, 0}}), "rgba16.png");
  CHECK(img.rgb == std::vector<uint8_t>{1, 2, 3});  // alpha dropped, not composited
  // Palette at 1, 2, 4 and 8 bits, with transparency (ignored: alpha is dropped).
  const std::vector<uint8_t> pal = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
  img = decode_image(test::make_png(3, 1, 8, 3, {{2, 0, 1}}, pal, {0, 128}), "p8.png");
  CHECK(img.rgb == std::vector<uint8_t>{70, 80, 90, 10, 20, 30, 40, 50, 60});
  img = decode_image(test::make_png(4, 1, 4, 3, {{0x21, 0x30}}, pal), "p4.png");
  CHECK(img.rgb == std::vector<uint8_t>{70, 80, 90, 40, 50, 60, 100, 110, 120, 10, 20, 30});
  img = decode_image(test::make_png(4, 1, 2, 3, {{0b00011011}}, pal), "p2.png");
  CHECK(img.rgb == std::vector<uint8_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120});
  img = decode_image(test::make_png(2, 1, 1, 3, {{0b01000000}}, pal), "p1.png");
  CHECK(img.rgb == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});
  // Gray at 1 bit (scaled to 0/255) and 8-bit gray+alpha.
  img = decode_image(test::make_png(2, 1, 1, 0, {{0b10000000}}), "g1.png");
  CHECK(img.rgb == std::vector<uint8_t>{255, 255, 255, 0, 0, 0});
  img = decode_image(test::make_png(1, 1, 8, 4, {{77, 0}}), "ga8.png");
  CHECK(img.rgb == std::vector<uint8_t>{77, 77, 77});
  // Broken variants: a palette index past the palette, a palette PNG without PLTE, a bad bit depth.
  try_decode(test::make_png(1, 1, 8, 3, {{9}}, pal), t, "p_index.png");
  try_decode(test::make_png(1, 1, 8, 3, {{0}}), t, "p_noplte.png");
  try_decode(test::make_png(1, 1, 3, 2, {{0, 0, 0}}), t, "depth3.png");
  try_decode(test::make_png(2, 2, 8, 2, {{1, 2, 3}}), t, "short_rows.png");
  CHECK(t.refused >= 3);
}

TEST_CASE("CMYK JPEG, GIF and TIFF are clear unsupported errors") {
  Image src(16, 16, 100);
  std::vector<uint8_t> cmyk_pixels(16 * 16 * 4, 50);
  Image as_cmyk;  // tjCompress2 reads 4 bytes per pixel for TJPF_CMYK
  as_cmyk.width = 16;
  as_cmyk.height = 16;
  as_cmyk.rgb = cmyk_pixels;
  const auto cmyk = jpeg_from(as_cmyk, 90, 0, TJSAMP_444, TJPF_CMYK);
  CHECK_THROWS_WITH_AS(decode_image(cmyk, "cmyk.jpg"), doctest::Contains("unsupported JPEG color space"),
                       hemo::Error);
  const std::string gif = "GIF89a\x10\x00\x10\x00\x80\x00\x00";
  CHECK_THROWS_WITH_AS(decode_image(std::span(reinterpret_cast<const uint8_t*>(gif.data()), gif.size()), "a.gif"),
                       doctest::Contains("unsupported image format GIF"), hemo::Error);
  const uint8_t tiff[] = {'I', 'I', 0x2A, 0, 8, 0, 0, 0};
  CHECK_THROWS_WITH_AS(decode_image(tiff, "a.tif"), doctest::Contains("unsupported image format TIFF"), hemo::Error);
}

TEST_CASE("a folder of broken files: scanning reports each one, a directory named x.jpg is no file") {
  const Seeds s = make_seeds();
  const fs::path root = test::scratch_dir("robust_folder");
  auto put = [&](const fs::path& p, std::span<const uint8_t> b) { write_file_atomic(root / p, b); };
  put("good/a.jpg", s.small_jpeg);
  put("good/b.png", s.png);
  put("bad/ok.bmp", s.bmp);
  put("bad/zero.jpg", {});
  put("bad/cut.jpg", std::span(s.small_jpeg.data(), s.small_jpeg.size() / 2));
  put("bad/huge.png", test::patch_png_size(s.png, 100000, 100000));
  put("bad/text.png", std::span(reinterpret_cast<const uint8_t*>("hello"), 5));
  fs::create_directories(root / "bad" / "x.jpg");
  CHECK_THROWS_WITH_AS(load_image(root / "bad" / "x.jpg"), doctest::Contains("is a directory"), hemo::Error);
  ScanOptions full;
  full.verify = Verify::Full;
  const ImageFolder f = scan_image_folder(root, full);
  CHECK(f.samples.size() == 3);
  CHECK(f.skipped.size() == 4);
  for (const Skipped& k : f.skipped) CHECK(k.reason.rfind(k.path, 0) == 0);
  MESSAGE(f.summary(), "\n", f.skipped_report());
}
