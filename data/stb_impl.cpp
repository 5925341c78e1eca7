// The one translation unit that compiles stb_image and stb_image_write. Decoding is restricted to
// PNG and BMP (STBI_ONLY_*): the GIF decoder, where stb's 2023 CVEs are, is not built, and neither
// are JPEG (TurboJPEG does it), PSD, TGA, HDR, PIC or PNM. No stdio: hemo reads files itself.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

#include <climits>
#include <cstring>
#include <memory>

#include "data/decode.h"
#include "data/encode.h"
#include "tensor/error.h"

namespace hemo::data {
namespace detail {

namespace {
struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

void check_size(std::span<const uint8_t> bytes, std::string_view name) {
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    throw Error(cat(name, ": file too large (", bytes.size(), " bytes)"));
}

std::string reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}
}  // namespace

Image stb_decode(std::span<const uint8_t> bytes, std::string_view name, const ImageInfo& info) {
  check_size(bytes, name);
  int w = 0, h = 0, comp = 0;
  std::unique_ptr<stbi_uc, StbFree> px(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, 3));
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
