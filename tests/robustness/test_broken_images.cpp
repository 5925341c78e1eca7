// The broken-input corpus (corpus.h), generated at test time: every truncation of real JPEGs and
// PNGs, empty and random files, byte mutations, huge declared sizes, zlib bombs, a directory named
// x.jpg. Each must decode to an image or fail with hemo::Error: never a crash, a hang, another
// exception type, or (under -DHEMO_SANITIZE=address,undefined) a sanitizer report.
#include <doctest/doctest.h>

#include <chrono>

#include "corpus.h"
#include "data/image_folder.h"
#include "data/rng.h"

using namespace hemo::data;
using hemo::data::test::corpus;
using hemo::data::test::Tally;
using hemo::data::test::try_decode;
namespace fs = std::filesystem;

TEST_CASE("every truncation of real JPEGs and PNGs, and of the other seeds, gives an image or a clear error") {
  const auto start = std::chrono::steady_clock::now();
  int64_t total = 0;
  for (const test::Seed& seed : corpus().seeds) {
    CAPTURE(seed.name);
    Tally t;
    try_decode(seed.bytes, t, "whole");  // the whole file decodes
    REQUIRE(t.decoded == 1);
    t = test::try_every_truncation(seed.bytes);
    total += t.decoded + t.refused;
    MESSAGE(seed.name, " (", seed.bytes.size(), " bytes): ", t.refused, " truncations refused, ", t.decoded,
            " decoded");
    // Truncated JPEG or BMP pixel data is never silently accepted. A PNG cut inside its last
    // chunks (IEND: 12 bytes) still holds every pixel.
    if (seed.jpeg || seed.name.find("BMP") != std::string::npos) CHECK(t.decoded == 0);
    else CHECK(t.decoded <= 12);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(total, " truncated inputs in ", secs, " s");
}

TEST_CASE("empty, random and mutated bytes give an image or a clear error") {
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
  for (const char* name : {"64x64 baseline JPEG", "64x64 progressive JPEG", "64x64 PNG", "64x64 BMP",
                           "64x64 Adam7 PNG", "PIL palette_trns.png"}) {
    const std::vector<uint8_t>& seed = corpus().get(name).bytes;
    for (int i = 0; i < 1000; ++i) {
      std::vector<uint8_t> b = seed;
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
  // JPEG: patch the SOF0 marker's height and width (big-endian at +5 and +7).
  std::vector<uint8_t> jpeg = corpus().get("64x64 baseline JPEG").bytes;
  size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && (jpeg[sof + 1] == 0xC0 || jpeg[sof + 1] == 0xC2)))
    sof += 2 + (size_t(jpeg[sof + 2]) << 8 | jpeg[sof + 3]);
  REQUIRE(sof + 9 < jpeg.size());
  jpeg[sof + 5] = jpeg[sof + 7] = 0xFD;  // 65000 x 65000
  jpeg[sof + 6] = jpeg[sof + 8] = 0xE8;
  CHECK_THROWS_WITH_AS(decode_image(jpeg, "huge.jpg"), doctest::Contains("larger than the limit"), hemo::Error);
  CHECK_THROWS_WITH_AS(probe_image(jpeg, "huge.jpg"), doctest::Contains("65000x65000"), hemo::Error);
  // PNG: IHDR 100000 x 100000 with a valid CRC; and the largest size PNG allows.
  const std::vector<uint8_t>& png = corpus().get("64x64 PNG").bytes;
  CHECK_THROWS_WITH_AS(decode_image(test::patch_png_size(png, 100000, 100000), "huge.png"),
                       doctest::Contains("larger than the limit"), hemo::Error);
  CHECK_THROWS_AS(decode_image(test::patch_png_size(png, 0x7FFFFFFF, 0x7FFFFFFF), "max.png"), hemo::Error);
  CHECK_THROWS_AS(decode_image(test::patch_png_size(png, 0, 64), "zero.png"), hemo::Error);
  // A size under the limit but with far too little data: an error, not a huge read.
  CHECK_THROWS_AS(decode_image(test::patch_png_size(png, 8000, 8000), "short.png"), hemo::Error);
  // BMP: width and height at offsets 18 and 22 (little-endian, height may be negative).
  std::vector<uint8_t> bmp = corpus().get("64x64 BMP").bytes;
  for (int k : {18, 22}) bmp[static_cast<size_t>(k)] = 0x50, bmp[static_cast<size_t>(k) + 1] = 0xC3, bmp[static_cast<size_t>(k) + 2] = 0;  // 50000
  CHECK_THROWS_WITH_AS(decode_image(bmp, "huge.bmp"), doctest::Contains("larger than the limit"), hemo::Error);
  for (int k = 18; k < 26; ++k) bmp[static_cast<size_t>(k)] = 0xFF;  // -1 x -1
  CHECK_THROWS_AS(decode_image(bmp, "neg.bmp"), hemo::Error);
}

TEST_CASE("sizes declared inside PNG data are bounded by the image: zlib bombs, IDAT lengths") {
  // A 16x16 gray PNG needs 16 * 17 = 272 inflated bytes. This one's IDAT (about 400 kB) inflates
  // to 64 MiB of zeros; stb alone would grow its buffer to 64 MiB before noticing.
  const std::vector<uint8_t> bomb = test::png_from_parts(16, 16, 8, 0, test::zlib_zeros(size_t{64} << 20));
  CHECK(bomb.size() < 500000);
  CHECK_THROWS_WITH_AS(decode_image(bomb, "bomb.png"), doctest::Contains("would need more memory than a 16x16 image"),
                       hemo::Error);
  // The same writer with the right amount of data gives a black image: the bomb is refused for
  // its size, not for its encoding.
  const Image black = decode_image(test::png_from_parts(16, 16, 8, 0, test::zlib_zeros(272)), "zeros.png");
  CHECK(black == Image(16, 16, 0));
  // An IDAT chunk that claims 2 GB in a 100-byte file: stb reserves the length before reading.
  std::vector<uint8_t> liar = test::make_png(4, 4, 8, 0, {{1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}});
  const size_t idat = 33;  // signature 8 + IHDR chunk 25
  REQUIRE(std::string(liar.begin() + idat + 4, liar.begin() + idat + 8) == "IDAT");
  liar[idat] = 0x7F, liar[idat + 1] = 0xFF, liar[idat + 2] = 0xFF, liar[idat + 3] = 0x00;
  CHECK_THROWS_WITH_AS(decode_image(liar, "liar.png"), doctest::Contains("would need more memory"), hemo::Error);
}

TEST_CASE("a folder of broken files: scanning reports each one, a directory named x.jpg is no file") {
  const fs::path root = test::scratch_dir("robust_folder");
  const std::vector<uint8_t>& jpeg = corpus().get("64x64 baseline JPEG").bytes;
  const std::vector<uint8_t>& png = corpus().get("64x64 PNG").bytes;
  auto put = [&](const fs::path& p, std::span<const uint8_t> b) { write_file_atomic(root / p, b); };
  put("good/a.jpg", jpeg);
  put("good/b.png", png);
  put("bad/ok.bmp", corpus().get("64x64 BMP").bytes);
  put("bad/zero.jpg", {});
  put("bad/cut.jpg", std::span(jpeg.data(), jpeg.size() / 2));
  put("bad/huge.png", test::patch_png_size(png, 100000, 100000));
  put("bad/text.png", std::span(reinterpret_cast<const uint8_t*>("hello"), 5));
  fs::create_directories(root / "bad" / "x.jpg");  // not a file: neither a sample nor a skipped file
  CHECK_THROWS_WITH_AS(load_image(root / "bad" / "x.jpg"), doctest::Contains("is a directory"), hemo::Error);
  ScanOptions full;
  full.verify = Verify::Full;
  const ImageFolder f = scan_image_folder(root, full);
  CHECK(f.samples.size() == 3);
  REQUIRE(f.skipped.size() == 4);
  for (const Skipped& k : f.skipped) CHECK(k.reason.rfind(k.path, 0) == 0);
  CHECK(f.skipped[0].path == (root / "bad" / "cut.jpg").string());
  CHECK(f.summary().find("(4 files skipped)") != std::string::npos);
  MESSAGE(f.summary(), "\n", f.skipped_report());
}
