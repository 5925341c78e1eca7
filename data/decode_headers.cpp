// PNG and BMP header parsing (decode.h, detail): dimensions before any allocation, and a BMP
// truncation check. Only the fields needed are read; stb_image does the decoding.
#include <cstring>

#include "core/error.h"
#include "data/decode.h"

namespace hemo::data::detail {

namespace {
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}
uint32_t le16(const uint8_t* p) { return uint32_t{p[1]} << 8 | p[0]; }
}  // namespace

ImageInfo png_header(std::span<const uint8_t> b, std::string_view name) {
  // 8-byte signature, then the IHDR chunk: length (13), "IHDR", width, height (big-endian).
  if (b.size() < 33) throw Error(cat(name, ": truncated PNG (", b.size(), " bytes, no complete header)"));
  if (be32(&b[8]) != 13 || std::memcmp(&b[12], "IHDR", 4) != 0)
    throw Error(cat(name, ": corrupt PNG (the first chunk is not IHDR)"));
  const uint32_t w = be32(&b[16]), h = be32(&b[20]);
  if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu)
    throw Error(cat(name, ": invalid PNG dimensions ", w, "x", h));
  return {ImageFormat::Png, static_cast<int>(w), static_cast<int>(h)};
}

ImageInfo bmp_header(std::span<const uint8_t> b, std::string_view name, const DecodeOptions& opts) {
  if (b.size() < 26) throw Error(cat(name, ": truncated BMP (", b.size(), " bytes, no complete header)"));
  const uint32_t offset = le32(&b[10]), header = le32(&b[14]);
  int64_t w = 0, h = 0;
  uint32_t bpp = 0, compression = 0;
  if (header == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit unsigned sizes
    w = le16(&b[18]);
    h = le16(&b[20]);
    bpp = le16(&b[24]);
  } else if (header >= 40 && b.size() >= 34) {
    w = static_cast<int32_t>(le32(&b[18]));
    h = static_cast<int32_t>(le32(&b[22]));  // negative: rows stored top-down
    bpp = le16(&b[28]);
    compression = le32(&b[30]);
  } else {
    throw Error(cat(name, ": unsupported or corrupt BMP header (header size ", header, ")"));
  }
  if (h < 0) h = -h;
  if (w <= 0 || h <= 0 || w > 0x7FFFFFFF || h > 0x7FFFFFFF)
    throw Error(cat(name, ": invalid BMP dimensions ", w, "x", h));
  check_dimensions(static_cast<int>(w), static_cast<int>(h), name, opts);  // before the data check
  // Uncompressed (BI_RGB, BI_BITFIELDS): the pixel rows must all be there.
  if ((compression == 0 || compression == 3) && bpp > 0 && bpp <= 32) {
    const int64_t stride = (w * bpp + 31) / 32 * 4;
    const int64_t need = int64_t{offset} + stride * h;
    if (static_cast<int64_t>(b.size()) < need)
      throw Error(cat(name, ": truncated BMP data (", b.size(), " bytes, the header needs ", need, ")"));
  }
  return {ImageFormat::Bmp, static_cast<int>(w), static_cast<int>(h)};
}

}  // namespace hemo::data::detail
