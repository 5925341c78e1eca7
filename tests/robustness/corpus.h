// The seed files of the broken-input corpus, made at test time, and the one rule every input must
// obey (try_decode): decode to a consistent image, or fail with a hemo::Error that names the input.
//   - three real pbc-mini JPEGs (synthetic JPEGs when ../shared/data is absent), whole;
//   - 64x64 re-encodings of one of them: baseline, progressive and grayscale JPEG, PNG (stb's
//     encoder), 24-bit BMP, Adam7-interlaced PNG; and a 32x32 16-bit RGB PNG;
//   - PIL's own PNGs of a real image (zlib with dynamic Huffman tables): RGB, palette with
//     transparency, gray+alpha; and PIL's CMYK JPEG (tests/data/make_pil_variants.py).
#pragma once
#include <doctest/doctest.h>

#include <turbojpeg.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../data/data_test_util.h"
#include "core/error.h"
#include "data/decode.h"
#include "data/io.h"
#include "data/resize.h"
#include "png_craft.h"

namespace hemo::data::test {

struct Tally {
  int64_t decoded = 0, refused = 0;
};

// What decoding `bytes` did: gave a consistent image, refused them with a hemo::Error naming
// `what`, or something else (the returned message says what). Never asserts, so worker threads
// may call it.
enum class Outcome { Decoded, Refused, Bad };
inline Outcome classify(std::span<const uint8_t> bytes, const char* what, std::string* why = nullptr) {
  try {
    const Image img = decode_image(bytes, what);
    if (img.width > 0 && img.height > 0 && img.rgb.size() == img.pixels() * 3) return Outcome::Decoded;
    if (why) *why = "an inconsistent image";
  } catch (const hemo::Error& e) {
    if (std::string(e.what()).rfind(what, 0) == 0) return Outcome::Refused;
    if (why) *why = std::string("an error that does not name the input: ") + e.what();
  } catch (const std::exception& e) {
    if (why) *why = std::string("an exception other than hemo::Error: ") + e.what();
  }
  return Outcome::Bad;
}

// Decodes `bytes`; an image must be consistent, anything else must be hemo::Error naming `what`.
inline void try_decode(std::span<const uint8_t> bytes, Tally& t, const char* what) {
  std::string why;
  const Outcome o = classify(bytes, what, &why);
  REQUIRE_MESSAGE(o != Outcome::Bad, what, ": ", why);
  ++(o == Outcome::Decoded ? t.decoded : t.refused);
}

// Every truncation of `bytes` (lengths 0 .. size - 1), spread over `threads` threads: the decoders
// run concurrently as in the loader, and the wall time halves on CI's two cores.
inline Tally try_every_truncation(const std::vector<uint8_t>& bytes, int threads = 2) {
  std::atomic<int64_t> decoded{0}, refused{0};
  std::mutex mu;
  std::string first_bad;
  auto work = [&](size_t start) {
    for (size_t len = start; len < bytes.size(); len += static_cast<size_t>(threads)) {
      std::string why;
      const Outcome o = classify(std::span(bytes.data(), len), "cut", &why);
      if (o == Outcome::Bad) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_bad.empty()) first_bad = "length " + std::to_string(len) + ": " + why;
      }
      ++(o == Outcome::Decoded ? decoded : refused);
    }
  };
  std::vector<std::thread> pool;
  for (int k = 1; k < threads; ++k) pool.emplace_back(work, static_cast<size_t>(k));
  work(0);
  for (std::thread& th : pool) th.join();
  CHECK_MESSAGE(first_bad.empty(), first_bad);
  return {decoded.load(), refused.load()};
}

inline std::vector<uint8_t> jpeg_from(const Image& img, int quality, int flags, int subsamp = TJSAMP_420,
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

// A 24-bit BMP, written by hand: 14-byte file header, 40-byte info header, bottom-up rows.
inline std::vector<uint8_t> bmp_from(const Image& img) {
  const uint32_t w = static_cast<uint32_t>(img.width), h = static_cast<uint32_t>(img.height);
  const uint32_t row = (w * 3 + 3) & ~3u, size = 54 + row * h;
  std::vector<uint8_t> b = {'B', 'M'};
  auto le = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  le(size, 4), le(0, 4), le(54, 4), le(40, 4), le(w, 4), le(h, 4), le(1, 2), le(24, 2);
  le(0, 4), le(row * h, 4), le(2835, 4), le(2835, 4), le(0, 4), le(0, 4);
  for (int y = img.height - 1; y >= 0; --y) {
    for (int x = 0; x < img.width; ++x)
      for (int c = 2; c >= 0; --c) b.push_back(img.at(x, y)[c]);
    b.resize(b.size() + row - w * 3, 0);
  }
  return b;
}

// A 16-bit RGB PNG of `img`: each sample v becomes v * 257 (high byte v, low byte v).
inline std::vector<uint8_t> png16_from(const Image& img) {
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < img.height; ++y) {
    std::vector<uint8_t> r;
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c) r.insert(r.end(), {img.at(x, y)[c], img.at(x, y)[c]});
    rows.push_back(std::move(r));
  }
  return make_png(static_cast<uint32_t>(img.width), static_cast<uint32_t>(img.height), 16, 2, rows);
}

struct Seed {
  std::string name;
  std::vector<uint8_t> bytes;
  bool jpeg = false;  // truncated JPEG data must never decode
};

struct Corpus {
  Image small;              // the 64x64 image the re-encodings hold
  std::vector<Seed> seeds;  // every one decodes whole
  std::vector<uint8_t> pil_cmyk_jpeg;
  const Seed& get(const std::string& name) const {
    for (const Seed& s : seeds)
      if (s.name == name) return s;
    FAIL("no seed ", name);
    return seeds[0];
  }
};

inline Corpus make_corpus() {
  Corpus c;
  const fs::path work = scratch_dir("robust_corpus");
  const auto files = real_or_synthetic_jpegs(work / "synthetic");
  REQUIRE(files.size() >= 3);
  for (size_t k = 0; k < 3; ++k) {
    const fs::path& f = files[k * files.size() / 3];  // three different classes
    c.seeds.push_back({"real " + f.filename().string(), read_file_bytes(f), true});
  }
  c.small = resize(decode_image(c.seeds[0].bytes, "seed"), 64, 64);
  c.seeds.push_back({"64x64 baseline JPEG", jpeg_from(c.small, 85, 0), true});
  c.seeds.push_back({"64x64 progressive JPEG", jpeg_from(c.small, 85, TJFLAG_PROGRESSIVE), true});
  c.seeds.push_back({"64x64 grayscale JPEG", jpeg_from(c.small, 85, 0, TJSAMP_GRAY), true});
  c.seeds.push_back({"64x64 PNG", encode_png(c.small)});
  c.seeds.push_back({"64x64 BMP", bmp_from(c.small)});
  c.seeds.push_back({"32x32 16-bit PNG", png16_from(resize(c.small, 32, 32))});
  c.seeds.push_back({"64x64 Adam7 PNG", make_png_adam7(64, 64, c.small.rgb)});
  REQUIRE(run_python("make_pil_variants.py", {files[0].string(), (work / "pil").string()}) == 0);
  for (const char* n : {"rgb.png", "palette_trns.png", "gray_alpha.png"})
    c.seeds.push_back({std::string("PIL ") + n, read_file_bytes(work / "pil" / n)});
  c.pil_cmyk_jpeg = read_file_bytes(work / "pil" / "cmyk.jpg");
  return c;
}

// The corpus, made once per test executable.
inline const Corpus& corpus() {
  static const Corpus c = make_corpus();
  return c;
}

}  // namespace hemo::data::test
