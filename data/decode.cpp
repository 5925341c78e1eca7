#include "data/decode.h"

#include <turbojpeg.h>

#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace hemo::data {

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Gif: return "GIF";
    case ImageFormat::Tiff: return "TIFF";
    case ImageFormat::WebP: return "WebP";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

ImageFormat sniff_format(std::span<const uint8_t> b) {
  auto starts = [&](std::initializer_list<uint8_t> sig, size_t at = 0) {
    if (b.size() < at + sig.size()) return false;
    size_t i = at;
    for (uint8_t c : sig)
      if (b[i++] != c) return false;
    return true;
  };
  if (starts({0xFF, 0xD8, 0xFF})) return ImageFormat::Jpeg;
  if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return ImageFormat::Png;
  if (starts({'B', 'M'})) return ImageFormat::Bmp;
  if (starts({'G', 'I', 'F', '8'})) return ImageFormat::Gif;
  if (starts({'I', 'I', 0x2A, 0x00}) || starts({'M', 'M', 0x00, 0x2A})) return ImageFormat::Tiff;
  if (starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8)) return ImageFormat::WebP;
  return ImageFormat::Unknown;
}

namespace detail {
void adobe_cmyk_to_rgb(std::span<const uint8_t> cmyk, std::span<uint8_t> rgb) {
  if (rgb.size() / 3 != cmyk.size() / 4 || cmyk.size() % 4 != 0 || rgb.size() % 3 != 0)
    throw Error(cat("adobe_cmyk_to_rgb: ", cmyk.size(), " CMYK bytes for ", rgb.size(), " RGB bytes"));
  // a * b / 255, rounded to nearest, exactly for a, b in [0, 255].
  auto mul255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (size_t p = 0, n = cmyk.size() / 4; p < n; ++p) {
    const uint8_t* in = cmyk.data() + 4 * p;
    const int white = in[3];  // stored inverted: 255 - K, the part the black ink leaves
    for (int c = 0; c < 3; ++c)
      rgb[3 * p + static_cast<size_t>(c)] = static_cast<uint8_t>(white - mul255(255 - in[c], white));
  }
}

void check_dimensions(int width, int height, std::string_view name, const DecodeOptions& opts) {
  if (width <= 0 || height <= 0)
    throw Error(cat(name, ": invalid image dimensions ", width, "x", height));
  const int64_t px = int64_t{width} * int64_t{height};
  if (px > opts.max_pixels)
    throw Error(cat(name, ": image is ", width, "x", height, " (", px,
                    " pixels), larger than the limit of ", opts.max_pixels,
                    " pixels (DecodeOptions::max_pixels)"));
}
}  // namespace detail

namespace {

std::string hex_prefix(std::span<const uint8_t> b) {
  if (b.empty()) return "the file is empty";
  std::string s = "first bytes";
  char buf[4];
  for (size_t i = 0; i < b.size() && i < 8; ++i) {
    std::snprintf(buf, sizeof buf, " %02X", b[i]);
    s += buf;
  }
  return s;
}

[[noreturn]] void throw_unrecognized(std::span<const uint8_t> b, std::string_view name,
                                     ImageFormat f) {
  if (f != ImageFormat::Unknown)
    throw Error(cat(name, ": unsupported image format ", format_name(f),
                    " (hemo decodes JPEG, PNG and BMP)"));
  throw Error(cat(name, ": not a JPEG, PNG or BMP image (", hex_prefix(b), ")"));
}

// One TurboJPEG decompressor per thread: creating one per image costs allocations. After any
// failure the handle is replaced: TurboJPEG 2.1 can leave a failed handle in a state where the
// next, valid, image fails too (seen as "Bogus DQT index" after a truncated file).
struct TjDecompressor {
  tjhandle handle = nullptr;
  TjDecompressor() = default;
  TjDecompressor(const TjDecompressor&) = delete;
  TjDecompressor& operator=(const TjDecompressor&) = delete;
  ~TjDecompressor() { reset(); }
  void reset() {
    if (handle) tjDestroy(handle);
    handle = nullptr;
  }
};

TjDecompressor& thread_tj() {
  thread_local TjDecompressor tj;
  if (!tj.handle) tj.handle = tjInitDecompress();
  if (!tj.handle) throw Error("TurboJPEG: tjInitDecompress failed (out of memory?)");
  return tj;
}

std::string tj_message(tjhandle h) {
  std::string msg = tjGetErrorStr2(h);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

const char* colorspace_name(int cs) {
  switch (cs) {
    case TJCS_RGB: return "RGB";
    case TJCS_YCbCr: return "YCbCr";
    case TJCS_GRAY: return "grayscale";
    case TJCS_CMYK: return "CMYK";
    case TJCS_YCCK: return "YCCK";
    default: return "unknown";
  }
}

ImageInfo jpeg_probe(std::span<const uint8_t> bytes, std::string_view name, int* colorspace) {
  TjDecompressor& tj = thread_tj();
  int w = 0, ht = 0, subsamp = 0, cs = 0;
  if (tjDecompressHeader3(tj.handle, bytes.data(), static_cast<unsigned long>(bytes.size()), &w, &ht,
                          &subsamp, &cs) != 0) {
    const std::string msg = tj_message(tj.handle);
    tj.reset();
    throw Error(cat(name, ": corrupt JPEG header (", msg, ")"));
  }
  if (colorspace) *colorspace = cs;
  return {ImageFormat::Jpeg, w, ht};
}

Image jpeg_decode(std::span<const uint8_t> bytes, std::string_view name, const DecodeOptions& opts) {
  int cs = 0;
  const ImageInfo info = jpeg_probe(bytes, name, &cs);
  detail::check_dimensions(info.width, info.height, name, opts);
  Image img(info.width, info.height);
  // CMYK and YCCK decode to 4 bytes per pixel (libjpeg turns YCCK into CMYK), then to RGB.
  const bool cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  std::vector<uint8_t> four(cmyk ? img.pixels() * 4 : 0);
  TjDecompressor& tj = thread_tj();
  // Default DCT (islow) and fancy upsampling: the same pixels as PIL's decoder. Warnings (such as
  // libjpeg's "premature end of data segment" on a truncated file) are errors: STOPONWARNING.
  // LIMITSCANS refuses progressive files with absurd scan counts (a known denial of service).
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (tjDecompress2(tj.handle, bytes.data(), static_cast<unsigned long>(bytes.size()),
                    cmyk ? four.data() : img.rgb.data(), info.width, 0, info.height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
    const bool warning = tjGetErrorCode(tj.handle) == TJERR_WARNING;
    const std::string msg = tj_message(tj.handle);
    tj.reset();
    throw Error(cat(name, warning ? ": truncated or corrupt JPEG data (" : ": JPEG decode failed (",
                    msg, ")", cmyk ? cat(" in a ", colorspace_name(cs), " JPEG") : std::string()));
  }
  if (cmyk) detail::adobe_cmyk_to_rgb(four, img.rgb);
  return img;
}

}  // namespace

ImageInfo probe_image(std::span<const uint8_t> bytes, std::string_view name,
                      const DecodeOptions& opts) {
  const ImageFormat f = sniff_format(bytes);
  ImageInfo info;
  switch (f) {
    case ImageFormat::Jpeg: info = jpeg_probe(bytes, name, nullptr); break;
    case ImageFormat::Png: info = detail::png_header(bytes, name); break;
    case ImageFormat::Bmp: info = detail::bmp_header(bytes, name, opts); break;
    default: throw_unrecognized(bytes, name, f);
  }
  detail::check_dimensions(info.width, info.height, name, opts);
  return info;
}

Image decode_image(std::span<const uint8_t> bytes, std::string_view name,
                   const DecodeOptions& opts) {
  const ImageFormat f = sniff_format(bytes);
  switch (f) {
    case ImageFormat::Jpeg: return jpeg_decode(bytes, name, opts);
    case ImageFormat::Png:
    case ImageFormat::Bmp: {
      const ImageInfo info = f == ImageFormat::Png ? detail::png_header(bytes, name)
                                                   : detail::bmp_header(bytes, name, opts);
      detail::check_dimensions(info.width, info.height, name, opts);
      return detail::stb_decode(bytes, name, info);
    }
    default: throw_unrecognized(bytes, name, f);
  }
}

Image load_image(const std::filesystem::path& path, const DecodeOptions& opts) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes, path.string(), opts);
}

}  // namespace hemo::data
