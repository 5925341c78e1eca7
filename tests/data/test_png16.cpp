// encode_png_gray16: a 16-bit greyscale PNG (Grad-CAM's raw maps) read back by stb_image's
// 16-bit decoder, an implementation independent of the writer, sample for sample.
#include <doctest/doctest.h>

#include <stb/stb_image.h>

#include <memory>
#include <vector>

#include "core/error.h"
#include "data/encode.h"

using namespace hemo;

TEST_CASE("encode_png_gray16: 16-bit greyscale that stb_image reads back exactly") {
  const int w = 13, h = 7;
  std::vector<uint16_t> v(static_cast<size_t>(w * h));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>((i * 40503u) & 0xFFFFu);
  v[0] = 0;
  v[1] = 65535;
  v[2] = 256;  // high byte 1, low byte 0: catches a byte-order mistake
  v[3] = 1;
  const std::vector<uint8_t> png = data::encode_png_gray16(w, h, v);
  // IHDR: width, height, bit depth 16, colour type 0 (greyscale).
  REQUIRE(png.size() > 33);
  CHECK(png[16 + 3] == w);
  CHECK(png[20 + 3] == h);
  CHECK(png[24] == 16);
  CHECK(png[25] == 0);

  int rw = 0, rh = 0, channels = 0;
  CHECK(stbi_is_16_bit_from_memory(png.data(), static_cast<int>(png.size())) == 1);
  std::unique_ptr<stbi_us, decltype(&stbi_image_free)> px(
      stbi_load_16_from_memory(png.data(), static_cast<int>(png.size()), &rw, &rh, &channels, 1), &stbi_image_free);
  REQUIRE_MESSAGE(px != nullptr, stbi_failure_reason());
  CHECK(rw == w);
  CHECK(rh == h);
  CHECK(channels == 1);
  CHECK(std::vector<uint16_t>(px.get(), px.get() + w * h) == v);
}

TEST_CASE("encode_png_gray16: errors name the problem") {
  CHECK_THROWS_WITH_AS(data::encode_png_gray16(0, 3, {}), doctest::Contains("empty image"), Error);
  std::vector<uint16_t> v(5);
  CHECK_THROWS_WITH_AS(data::encode_png_gray16(2, 3, v), doctest::Contains("5 values for a 2x3 image"), Error);
}
