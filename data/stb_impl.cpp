// The one translation unit that compiles stb_image and stb_image_write. Decoding is restricted to
// PNG and BMP (STBI_ONLY_*): the GIF decoder, where stb's 2023 CVEs are, is not built, and neither
// are JPEG (TurboJPEG does it), PSD, TGA, HDR, PIC or PNM. No stdio: hemo reads files itself.
//
// stb's allocations go through stb_alloc/stb_realloc below, which refuse any single block larger
// than the budget stb_decode sets for the image at hand. The header check (decode_headers.cpp)
// bounds the pixels, but not what stb allocates from other declared sizes: an IDAT chunk length
// (stb reserves it before reading the data) or a zlib stream that inflates far past the image
// (a "zlib bomb"). With the budget these are errors after a small allocation, not gigabytes.
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace hemo::data::detail {
void* stb_alloc(size_t bytes);
void* stb_realloc(void* p, size_t bytes);
}  // namespace hemo::data::detail

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MALLOC(sz) ::hemo::data::detail::stb_alloc(sz)
#define STBI_REALLOC(p, sz) ::hemo::data::detail::stb_realloc(p, sz)
#define STBI_FREE(p) std::free(p)
#include <stb_image.h>
#if !defined(STBI_NO_GIF) || !defined(STBI_NO_JPEG) || !defined(STBI_NO_PSD) || !defined(STBI_NO_PNM)
#error "stb_image must be built for PNG and BMP only (the GIF decoder has open CVEs)"
#endif

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <array>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "data/decode.h"
#include "data/encode.h"

namespace hemo::data {
namespace detail {

namespace {
// The largest block stb may allocate on this thread now; SIZE_MAX outside stb_decode.
thread_local size_t stb_budget = SIZE_MAX;
thread_local bool stb_over_budget = false;

// Sets the budget for one decode and restores it after.
struct StbBudget {
  explicit StbBudget(size_t bytes) {
    stb_budget = bytes;
    stb_over_budget = false;
  }
  ~StbBudget() { stb_budget = SIZE_MAX; }
  StbBudget(const StbBudget&) = delete;
  StbBudget& operator=(const StbBudget&) = delete;
};

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

void check_size(std::span<const uint8_t> bytes, std::string_view name) {
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    throw Error(cat(name, ": file too large (", bytes.size(), " bytes)"));
}

// stb's message; bytes of the file it quotes (an unknown chunk's type) are shown as \xNN when
// they are not printable, so a corrupt file cannot put control bytes into a message.
std::string reason() {
  const char* r = stbi_failure_reason();
  if (!r) return "unknown error";
  std::string out;
  for (const char* p = r; *p; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

size_t stb_budget_for(const ImageInfo& info, size_t file_bytes) {
  // The largest legitimate block: the inflated PNG rows (up to 8 bytes a pixel at 16-bit RGBA,
  // one filter byte a row), or the compressed IDAT data (at most the file), each doubled because
  // stb grows its buffers by doubling past a first guess (Adam7 data runs a little over it).
  const size_t pixels = static_cast<size_t>(info.width) * static_cast<size_t>(info.height);
  return std::max(2 * file_bytes, 2 * (8 * pixels + static_cast<size_t>(info.height) * 8)) + (size_t{1} << 16);
}
}  // namespace

void* stb_alloc(size_t bytes) {
  if (bytes > stb_budget) {
    stb_over_budget = true;
    return nullptr;  // stb reports "outofmem" and unwinds
  }
  return std::malloc(bytes);
}

void* stb_realloc(void* p, size_t bytes) {
  if (bytes > stb_budget) {
    stb_over_budget = true;
    return nullptr;  // p stays valid; stb frees it
  }
  return std::realloc(p, bytes);
}

Image stb_decode(std::span<const uint8_t> bytes, std::string_view name, const ImageInfo& info) {
  check_size(bytes, name);
  int w = 0, h = 0, comp = 0;
  std::unique_ptr<stbi_uc, StbFree> px;
  bool over_budget = false;
  {
    const StbBudget budget(stb_budget_for(info, bytes.size()));
    px.reset(stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, 3));
    over_budget = stb_over_budget;
  }
  if (!px && over_budget)
    throw Error(cat(name, ": corrupt ", format_name(info.format), " (its data would need more memory than a ",
                    info.width, "x", info.height, " image: a bad chunk length or over-long compressed data)"));
  if (!px) throw Error(cat(name, ": cannot decode ", format_name(info.format), " (", reason(), ")"));
  if (w != info.width || h != info.height)
    throw Error(cat(name, ": ", format_name(info.format), " header and data disagree on the size"));
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(px.get(), px.get() + static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  return img;
}

}  // namespace detail

namespace {
// CRC-32 as PNG uses it (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320).
uint32_t png_crc(const uint8_t* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char (&type)[5], const uint8_t* data, size_t n) {
  put_u32(out, static_cast<uint32_t>(n));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data, data + n);
  put_u32(out, png_crc(out.data() + start, n + 4));
}
}  // namespace

std::vector<uint8_t> encode_png_gray16(int width, int height, std::span<const uint16_t> values) {
  if (width <= 0 || height <= 0) throw Error(cat("encode_png_gray16: empty image (", width, "x", height, ")"));
  const size_t w = static_cast<size_t>(width), h = static_cast<size_t>(height);
  if (values.size() != w * h)
    throw Error(cat("encode_png_gray16: ", values.size(), " values for a ", width, "x", height, " image"));
  // Scanlines: filter type 0 (none), then the samples big-endian.
  std::vector<uint8_t> raw;
  raw.reserve(h * (1 + 2 * w));
  for (size_t y = 0; y < h; ++y) {
    raw.push_back(0);
    for (size_t x = 0; x < w; ++x) {
      raw.push_back(static_cast<uint8_t>(values[y * w + x] >> 8));
      raw.push_back(static_cast<uint8_t>(values[y * w + x] & 0xFFu));
    }
  }
  if (raw.size() > static_cast<size_t>(INT_MAX)) throw Error("encode_png_gray16: image too large");
  int zlen = 0;
  std::unique_ptr<unsigned char, decltype(&std::free)> z(
      stbi_zlib_compress(raw.data(), static_cast<int>(raw.size()), &zlen, 8), &std::free);
  if (!z) throw Error(cat("encode_png_gray16: compression failed for a ", width, "x", height, " image"));

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // bit depth 16, greyscale, deflate, filter 0, no interlace
  put_chunk(out, "IHDR", ihdr.data(), ihdr.size());
  put_chunk(out, "IDAT", z.get(), static_cast<size_t>(zlen));
  put_chunk(out, "IEND", nullptr, 0);
  return out;
}

std::vector<uint8_t> encode_png(const Image& img) {
  if (img.empty()) throw Error("encode_png: empty image");
  std::vector<uint8_t> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    const auto* p = static_cast<const uint8_t*>(data);
    v->insert(v->end(), p, p + size);
  };
  if (!stbi_write_png_to_func(sink, &out, img.width, img.height, 3, img.rgb.data(), img.width * 3))
    throw Error(cat("encode_png: stb_image_write failed for a ", img.width, "x", img.height, " image"));
  return out;
}

}  // namespace hemo::data
