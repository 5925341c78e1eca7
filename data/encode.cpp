#include "data/encode.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "core/error.h"
#include "data/io.h"

namespace hemo::data {

std::vector<uint8_t> encode_jpeg(const Image& img, int quality) {
  if (img.empty()) throw Error("encode_jpeg: empty image");
  if (quality < 1 || quality > 100) throw Error(cat("encode_jpeg: quality ", quality, " not in 1..100"));
  tjhandle h = tjInitCompress();
  if (!h) throw Error("encode_jpeg: tjInitCompress failed");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(h, img.rgb.data(), img.width, 0, img.height, TJPF_RGB, &buf, &size,
                             TJSAMP_420, quality, 0);
  std::string err = rc != 0 ? tjGetErrorStr2(h) : "";
  std::vector<uint8_t> out;
  if (rc == 0) out.assign(buf, buf + size);
  tjFree(buf);
  tjDestroy(h);
  if (rc != 0) throw Error(cat("encode_jpeg: ", err));
  return out;
}

void save_image(const std::filesystem::path& path, const Image& img, int jpeg_quality) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".png") {
    write_file_atomic(path, encode_png(img));
  } else if (ext == ".jpg" || ext == ".jpeg") {
    write_file_atomic(path, encode_jpeg(img, jpeg_quality));
  } else {
    throw Error(cat(path.string(), ": cannot save an image with extension '", ext,
                    "' (use .png, .jpg or .jpeg)"));
  }
}

}  // namespace hemo::data
