// Unusual but valid layouts become RGB8 (16-bit, palette, gray, gray+alpha, Adam7 PNGs; CMYK and
// YCCK JPEGs, compared with PIL's decoding made at test time by tests/data/pil_reference.py), and
// the formats hemo does not decode (GIF, TIFF) are clear "unsupported" errors.
// Part of the robustness suite: these paths run under AddressSanitizer and UBSan too.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "corpus.h"

using namespace hemo::data;
using hemo::data::test::Tally;
using hemo::data::test::try_decode;
using hemo::cat;
namespace fs = std::filesystem;

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

TEST_CASE("an Adam7-interlaced PNG and a 16-bit PNG decode to the pixels they hold") {
  Image img(13, 11);  // odd sizes: passes with partial and missing columns
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>(i * 7 + 3);
  CHECK(decode_image(test::make_png_adam7(13, 11, img.rgb), "adam7.png") == img);
  const Image one(1, 1, 200);  // passes 2-7 are empty
  CHECK(decode_image(test::make_png_adam7(1, 1, one.rgb), "adam7_1x1.png") == one);
  CHECK(decode_image(test::png16_from(img), "rgb16.png") == img);
}

namespace {
// PIL's decoding (Image.open(f).convert("RGB"), tests/data/pil_reference.py) of each file.
std::vector<Image> pil_decode(const std::vector<fs::path>& files, const fs::path& out) {
  std::vector<std::string> args = {out.string()};
  for (const fs::path& f : files) args.push_back(f.string());
  REQUIRE_MESSAGE(test::run_python("pil_reference.py", args) == 0,
                  "running tests/data/pil_reference.py with " HEMO_PYTHON " failed: it needs python3-pil");
  std::vector<Image> refs(files.size());
  std::ifstream index(out / "index.txt");
  size_t i = 0;
  int w = 0, h = 0;
  std::string path;
  while (index >> i >> w >> h && std::getline(index >> std::ws, path)) {
    REQUIRE_MESSAGE(w > 0, "PIL cannot open ", path);
    refs.at(i).width = w, refs.at(i).height = h;
    refs.at(i).rgb = read_file_bytes(out / (std::to_string(i) + ".rgb"));
  }
  return refs;
}

// Every byte within atol + rtol * |expected| of PIL's; prints the worst one (position, both values).
void check_close_to_pil(const Image& mine, const Image& pil, const std::string& what, double atol, double rtol) {
  REQUIRE_MESSAGE(mine.width == pil.width, what);
  REQUIRE_MESSAGE(mine.height == pil.height, what);
  REQUIRE(pil.rgb.size() == mine.rgb.size());
  double worst = -1;
  size_t worst_i = 0, failed = 0;
  for (size_t i = 0; i < mine.rgb.size(); ++i) {
    const double err = std::abs(double(mine.rgb[i]) - double(pil.rgb[i]));
    const double ratio = err / (atol + rtol * double(pil.rgb[i]));
    failed += ratio > 1;
    if (ratio > worst) worst = ratio, worst_i = i;
  }
  const size_t px = worst_i / 3;
  const std::string where = cat(what, ": worst byte at x ", px % size_t(mine.width), " y ", px / size_t(mine.width),
                                " channel ", worst_i % 3, ": hemo ", int(mine.rgb[worst_i]), ", PIL ",
                                int(pil.rgb[worst_i]), " (error / allowance ", worst, "); ", failed, " of ",
                                mine.rgb.size(), " bytes outside");
  MESSAGE(where);
  CHECK_MESSAGE(failed == 0, where);
}
}  // namespace

TEST_CASE("Adobe CMYK to RGB: PIL's formula on hand-computed pixels") {
  // Stored values are inverted (255 - ink). White paper, full black, pure cyan, 50% of everything.
  const std::vector<uint8_t> cmyk = {255, 255, 255, 255, 10, 20, 30, 0, 0, 255, 255, 255, 128, 128, 128, 128};
  std::vector<uint8_t> rgb(12);
  detail::adobe_cmyk_to_rgb(cmyk, rgb);
  // 50%: nk = 128, C = 127: 128 - round(127 * 128 / 255) = 128 - 64 = 64.
  CHECK(rgb == std::vector<uint8_t>{255, 255, 255, 0, 0, 0, 0, 255, 255, 64, 64, 64});
}

TEST_CASE("CMYK and YCCK JPEGs decode to PIL's RGB; GIF and TIFF are clear unsupported errors") {
  const fs::path dir = test::scratch_dir("cmyk");
  // PIL writes CMYK as an Adobe JPEG without colour transform: colour space CMYK.
  const std::vector<uint8_t>& cmyk = test::corpus().pil_cmyk_jpeg;
  write_file_atomic(dir / "cmyk.jpg", cmyk);
  // TurboJPEG stores CMYK pixels as YCCK (Adobe transform 2): a gradient in each ink, 4:2:0.
  Image as_cmyk;  // tjCompress2 reads 4 bytes per pixel for TJPF_CMYK
  as_cmyk.width = 40;
  as_cmyk.height = 24;
  for (int y = 0; y < as_cmyk.height; ++y)
    for (int x = 0; x < as_cmyk.width; ++x)
      for (int c : {x * 6, y * 10, (x + y) * 4, 255 - x * 3}) as_cmyk.rgb.push_back(static_cast<uint8_t>(c));
  const auto ycck = test::jpeg_from(as_cmyk, 90, 0, TJSAMP_420, TJPF_CMYK);
  write_file_atomic(dir / "ycck.jpg", ycck);
  const std::vector<Image> pil = pil_decode({dir / "cmyk.jpg", dir / "ycck.jpg"}, dir / "pil");
  // The same libjpeg decodes both: exact in practice; 2 levels allowed for another IDCT build.
  check_close_to_pil(decode_image(cmyk, "cmyk.jpg"), pil[0], "PIL's CMYK JPEG", 2.0, 0.0);
  check_close_to_pil(decode_image(ycck, "ycck.jpg"), pil[1], "TurboJPEG's YCCK JPEG", 2.0, 0.0);
  CHECK(probe_image(cmyk, "cmyk.jpg").width == pil[0].width);
  // Every truncation of the CMYK file: still an error, never a crash.
  CHECK(test::try_every_truncation(cmyk).decoded == 0);
  const std::string gif = "GIF89a\x10\x00\x10\x00\x80\x00\x00";
  CHECK_THROWS_WITH_AS(decode_image(std::span(reinterpret_cast<const uint8_t*>(gif.data()), gif.size()), "a.gif"),
                       doctest::Contains("unsupported image format GIF"), hemo::Error);
  const uint8_t tiff[] = {'I', 'I', 0x2A, 0, 8, 0, 0, 0};
  CHECK_THROWS_WITH_AS(decode_image(tiff, "a.tif"), doctest::Contains("unsupported image format TIFF"), hemo::Error);
}
