// Decoding: format sniffing, PIL parity on real images (JPEG) and on PNG/BMP in every PIL mode,
// the pixel limit, the stray .DS file of pbc-mini, encode round trips.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/decode.h"
#include "data/encode.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {

struct Reference {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  std::string path;
};

// Asks PIL to decode `paths`; returns its pixels (width 0 when PIL refused a file).
std::vector<Reference> pil_decode(const std::vector<fs::path>& paths, const fs::path& out) {
  std::vector<std::string> args = {out.string()};
  for (const fs::path& p : paths) args.push_back(p.string());
  const int rc = test::run_python("pil_reference.py", args);
  REQUIRE_MESSAGE(rc == 0, "running tests/data/pil_reference.py with " HEMO_PYTHON
                           " failed: it needs python3-pil (Debian)");
  std::vector<Reference> refs(paths.size());
  std::ifstream index(out / "index.txt");
  std::string line;
  while (std::getline(index, line)) {
    std::istringstream is(line);
    size_t i;
    Reference r;
    is >> i >> r.width >> r.height;
    std::getline(is >> std::ws, r.path);
    if (r.width > 0) {
      const auto bytes = read_file_bytes(out / (std::to_string(i) + ".rgb"));
      r.rgb = bytes;
    }
    refs.at(i) = std::move(r);
  }
  return refs;
}

// Mean absolute difference per channel; the largest of the three.
double mean_abs_diff(const Image& a, const Reference& b) {
  double sum[3] = {0, 0, 0};
  for (size_t i = 0; i < a.rgb.size(); ++i) sum[i % 3] += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  const double n = static_cast<double>(a.pixels());
  return std::max({sum[0] / n, sum[1] / n, sum[2] / n});
}

}  // namespace

TEST_CASE("sniff_format recognises signatures, not extensions") {
  auto sniff = [](std::initializer_list<uint8_t> b) { return sniff_format(std::vector<uint8_t>(b)); };
  CHECK(sniff({0xFF, 0xD8, 0xFF, 0xE0}) == ImageFormat::Jpeg);
  CHECK(sniff({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}) == ImageFormat::Png);
  CHECK(sniff({'B', 'M', 0, 0}) == ImageFormat::Bmp);
  CHECK(sniff({'G', 'I', 'F', '8', '9', 'a'}) == ImageFormat::Gif);
  CHECK(sniff({'I', 'I', 0x2A, 0}) == ImageFormat::Tiff);
  CHECK(sniff({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}) == ImageFormat::WebP);
  CHECK(sniff({0, 0, 0, 1, 'B', 'u', 'd', '1'}) == ImageFormat::Unknown);
  CHECK(sniff({0x89, 'P', 'N'}) == ImageFormat::Unknown);
  CHECK(sniff({}) == ImageFormat::Unknown);
}

TEST_CASE("JPEG decoding matches PIL on the real pbc-mini images") {
  const fs::path work = test::scratch_dir("decode_pil");
  const std::vector<fs::path> files = test::real_or_synthetic_jpegs(work / "synthetic");
  REQUIRE(files.size() >= 8);
  const std::vector<Reference> refs = pil_decode(files, work / "pil");
  double worst = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    CAPTURE(files[i].string());
    REQUIRE(refs[i].width > 0);
    const Image img = load_image(files[i]);
    REQUIRE(img.width == refs[i].width);
    REQUIRE(img.height == refs[i].height);
    const double d = mean_abs_diff(img, refs[i]);
    CHECK(d <= 2.0);
    worst = std::max(worst, d);
  }
  MESSAGE(files.size(), " JPEGs decoded; worst mean |hemo - PIL| per channel = ", worst, " levels");
}

TEST_CASE("PNG and BMP in every PIL mode decode to PIL's convert(\"RGB\")") {
  const fs::path work = test::scratch_dir("decode_modes");
  const std::vector<fs::path> src = test::real_or_synthetic_jpegs(work / "synthetic", 1);
  REQUIRE(test::run_python("make_pil_variants.py", {src[0].string(), (work / "v").string()}) == 0);
  std::vector<fs::path> files;
  for (const char* n : {"rgb.png", "rgba.png", "gray.png", "gray_alpha.png", "palette.png",
                        "palette_trns.png", "rgb.bmp", "gray.bmp", "palette.bmp", "gray.jpg"})
    files.push_back(work / "v" / n);
  const std::vector<Reference> refs = pil_decode(files, work / "pil");
  for (size_t i = 0; i < files.size(); ++i) {
    CAPTURE(files[i].string());
    REQUIRE(refs[i].width == 97);
    const Image img = load_image(files[i]);
    REQUIRE(img.width == 97);
    REQUIRE(img.height == 83);
    // Lossless formats: exactly PIL's pixels.
    const bool lossless = files[i].extension() != ".jpg";
    if (lossless) CHECK(img.rgb == refs[i].rgb);
    else CHECK(mean_abs_diff(img, refs[i]) <= 2.0);
  }
}

TEST_CASE("the stray .DS file of pbc-mini is a clear error naming it") {
  fs::path ds;
  const fs::path real = test::pbc_mini();
  if (!real.empty()) {
    ds = real / "neutrophil" / ".DS_169665.jpg";
  } else {
    ds = test::scratch_dir("decode_ds") / ".DS_169665.jpg";
    test::write_text(ds, std::string("\0\0\0\1Bud1\0\0\x10\0", 12));
  }
  try {
    load_image(ds);
    FAIL("decoding ", ds.string(), " should fail");
  } catch (const hemo::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(ds.string()) != std::string::npos);
    CHECK(msg.find("not a JPEG, PNG or BMP image") != std::string::npos);
    CHECK(msg.find("42 75 64 31") != std::string::npos);  // "Bud1"
  }
}

TEST_CASE("the pixel limit refuses large images before decoding") {
  const Image img(300, 200, 7);
  for (const auto& bytes : {encode_png(img), encode_jpeg(img, 90)}) {
    DecodeOptions small;
    small.max_pixels = 300 * 200 - 1;
    CHECK_THROWS_WITH_AS(decode_image(bytes, "big", small),
                         doctest::Contains("larger than the limit of 59999 pixels"), hemo::Error);
    DecodeOptions exact;
    exact.max_pixels = 300 * 200;
    CHECK(decode_image(bytes, "ok", exact).width == 300);
    CHECK(probe_image(bytes, "ok", exact).height == 200);
  }
}

TEST_CASE("encode and decode round trips") {
  Image img(37, 23);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 37) % 251);
  CHECK(decode_image(encode_png(img), "png") == img);
  const Image smooth = synth::draw_cell(4, 64, 3, 0);
  const Image back = decode_image(encode_jpeg(smooth, 95), "jpg");
  REQUIRE(back.width == 64);
  double sum = 0;
  for (size_t i = 0; i < back.rgb.size(); ++i) sum += std::abs(int(back.rgb[i]) - int(smooth.rgb[i]));
  CHECK(sum / static_cast<double>(back.rgb.size()) < 3.0);
  const fs::path dir = test::scratch_dir("decode_save");
  save_image(dir / "a.PNG", img);
  CHECK(load_image(dir / "a.PNG") == img);
  CHECK_THROWS_WITH_AS(save_image(dir / "a.gif", img), doctest::Contains("extension '.gif'"), hemo::Error);
}

TEST_CASE("load_image errors name the path and the reason") {
  const fs::path dir = test::scratch_dir("decode_errors");
  CHECK_THROWS_WITH_AS(load_image(dir / "missing.jpg"), doctest::Contains("missing.jpg: no such file"), hemo::Error);
  fs::create_directories(dir / "x.jpg");
  CHECK_THROWS_WITH_AS(load_image(dir / "x.jpg"), doctest::Contains("x.jpg: is a directory"), hemo::Error);
  test::write_text(dir / "empty.png", "");
  CHECK_THROWS_WITH_AS(load_image(dir / "empty.png"), doctest::Contains("the file is empty"), hemo::Error);
  test::write_text(dir / "anim.gif", "GIF89a\x01\x00\x01\x00");
  CHECK_THROWS_WITH_AS(load_image(dir / "anim.gif"), doctest::Contains("unsupported image format GIF"), hemo::Error);
}
