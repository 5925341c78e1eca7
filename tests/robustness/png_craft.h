// A tiny PNG writer for the robustness corpus: any colour type and bit depth PNG allows (16-bit,
// palette with transparency, gray+alpha...), which stb_image_write cannot produce, and Adam7
// interlacing. Data is stored uncompressed (zlib "stored" blocks), filter type 0 on every row.
// Also: a zlib stream that inflates to many zeros (a "zlib bomb"), and a patch of the IHDR size of
// an existing PNG, CRC included, to fake a huge image.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hemo::data::test {

inline uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

inline void put_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put_be32(png, crc32(body.data(), body.size()));
}

// zlib stream of stored blocks.
inline std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t len = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back(static_cast<uint8_t>(len));
    z.push_back(static_cast<uint8_t>(len >> 8));
    z.push_back(static_cast<uint8_t>(~len));
    z.push_back(static_cast<uint8_t>(~len >> 8));
    z.insert(z.end(), raw.begin() + static_cast<long>(pos), raw.begin() + static_cast<long>(pos + len));
    pos += len;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(z, (b << 16) | a);
  return z;
}

// zlib stream that inflates to n zero bytes (n >= 1) in one fixed-Huffman block: a literal 0, then
// <length 258, distance 1> copies, 13 bits each, then literal zeros for the rest (about 1300:1).
// Deflate packs bits LSB first; Huffman codes go in MSB first.
inline std::vector<uint8_t> zlib_zeros(size_t n) {
  std::vector<uint8_t> z = {0x78, 0x01};
  uint32_t acc = 0;
  int bits = 0;
  auto put = [&](uint32_t v, int len) {  // LSB first
    acc |= v << bits;
    bits += len;
    while (bits >= 8) {
      z.push_back(static_cast<uint8_t>(acc));
      acc >>= 8;
      bits -= 8;
    }
  };
  auto code = [&](uint32_t c, int len) {  // MSB first
    for (int i = len - 1; i >= 0; --i) put((c >> i) & 1u, 1);
  };
  put(1, 1);  // BFINAL
  put(1, 2);  // BTYPE 01: fixed Huffman
  code(0x30, 8);  // literal 0
  size_t left = n - 1;
  for (; left >= 258; left -= 258) {
    code(0xC5, 8);  // length code 285 = 258, no extra bits
    code(0, 5);     // distance code 0 = 1
  }
  for (; left > 0; --left) code(0x30, 8);
  code(0, 7);  // end of block (256)
  if (bits > 0) z.push_back(static_cast<uint8_t>(acc));
  put_be32(z, static_cast<uint32_t>(n % 65521) << 16 | 1u);  // Adler-32 of zeros: a = 1, b = n
  return z;
}

// A PNG from its parts: IHDR (interlace 0 or 1), PLTE and tRNS when given, one IDAT chunk holding
// `idat` (a zlib stream), IEND.
inline std::vector<uint8_t> png_from_parts(uint32_t width, uint32_t height, uint8_t bit_depth,
                                           uint8_t color_type, const std::vector<uint8_t>& idat,
                                           const std::vector<uint8_t>& palette = {},
                                           const std::vector<uint8_t>& trns = {}, uint8_t interlace = 0) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {bit_depth, color_type, 0, 0, interlace});
  put_chunk(png, "IHDR", ihdr);
  if (!palette.empty()) put_chunk(png, "PLTE", palette);
  if (!trns.empty()) put_chunk(png, "tRNS", trns);
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", {});
  return png;
}

// rows: height rows of packed samples (without the filter byte). palette: RGB triples (type 3).
inline std::vector<uint8_t> make_png(uint32_t width, uint32_t height, uint8_t bit_depth, uint8_t color_type,
                                     const std::vector<std::vector<uint8_t>>& rows,
                                     const std::vector<uint8_t>& palette = {},
                                     const std::vector<uint8_t>& trns = {}) {
  std::vector<uint8_t> raw;
  for (const auto& r : rows) {
    raw.push_back(0);
    raw.insert(raw.end(), r.begin(), r.end());
  }
  return png_from_parts(width, height, bit_depth, color_type, zlib_stored(raw), palette, trns);
}

// Rewrites the IHDR width and height of a PNG (and its CRC).
inline std::vector<uint8_t> patch_png_size(std::vector<uint8_t> png, uint32_t w, uint32_t h) {
  std::vector<uint8_t> wh;
  put_be32(wh, w);
  put_be32(wh, h);
  std::copy(wh.begin(), wh.end(), png.begin() + 16);
  const uint32_t crc = crc32(png.data() + 12, 17);
  std::vector<uint8_t> c;
  put_be32(c, crc);
  std::copy(c.begin(), c.end(), png.begin() + 29);
  return png;
}

// An 8-bit RGB PNG, Adam7-interlaced: pass p holds the pixels (x0 + i dx, y0 + j dy), each of its
// rows with a filter byte (0). rgb: width * height * 3 bytes, rows top to bottom.
inline std::vector<uint8_t> make_png_adam7(uint32_t width, uint32_t height, const std::vector<uint8_t>& rgb) {
  static const uint32_t pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                      {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  std::vector<uint8_t> raw;
  for (const auto& p : pass) {
    if (p[0] >= width || p[1] >= height) continue;  // an empty pass has no rows at all
    for (uint32_t y = p[1]; y < height; y += p[3]) {
      raw.push_back(0);
      for (uint32_t x = p[0]; x < width; x += p[2])
        for (uint32_t c = 0; c < 3; ++c) raw.push_back(rgb[(static_cast<size_t>(y) * width + x) * 3 + c]);
    }
  }
  return png_from_parts(width, height, 8, 2, zlib_stored(raw), {}, {}, 1);
}

}  // namespace hemo::data::test
