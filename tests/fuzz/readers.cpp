#include "tests/fuzz/readers.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "data/decode.h"
#include "data/manifest.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/train_state.h"
#include "weights/model_meta.h"
#include "weights/safetensors.h"
#include "weights/tensor_io.h"

namespace hemo::fuzz {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: property violated: %s\n", what);
  std::abort();
}

void read_image(Bytes bytes) {
  data::DecodeOptions opts;
  opts.max_pixels = int64_t{4} << 20;  // 4 Mpx keeps the fuzzer's memory small
  (void)data::sniff_format(bytes);
  const data::ImageInfo info = data::probe_image(bytes, "fuzz", opts);
  const data::Image img = data::decode_image(bytes, "fuzz", opts);
  require(img.width == info.width && img.height == info.height, "decode and probe agree on the size");
  require(img.rgb.size() == 3 * static_cast<size_t>(img.width) * static_cast<size_t>(img.height),
          "the pixels fill the image");
}

void read_safetensors(Bytes bytes) {
  const auto file = safetensors::File::parse(std::vector<uint8_t>(bytes.begin(), bytes.end()), "fuzz");
  for (const auto& info : file.tensors()) {
    require(file.bytes(info.name).size() == info.end - info.begin, "a tensor's bytes are its offsets' span");
    (void)weights::to_tensor(file, info.name);
  }
  if (file.metadata().count("architecture")) (void)weights::ModelMeta::from_metadata(file.metadata(), "fuzz");
}

// The path-based reader runs on an in-memory file (memfd), as it does for a user's file.
void read_checkpoint(Bytes bytes) {
  static const int fd = memfd_create("hemo-fuzz-checkpoint", 0);
  require(fd >= 0, "memfd_create works");
  require(ftruncate(fd, 0) == 0 && pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()),
          "the input fits in memory");
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const train::Checkpoint c = train::load_checkpoint(path);
  if (c.train_state.is_null()) return;
  const train::TrainState state = train::TrainState::from_json(c.train_state, path);
  (void)train::TrainConfig::from_json(state.config);
}

void read_manifest(Bytes bytes) {
  const std::string csv(bytes.begin(), bytes.end());
  const data::Manifest m = data::parse_manifest(csv, "/nonexistent-root", "fuzz.csv");
  const data::Manifest again = data::parse_manifest(m.to_csv(), "/nonexistent-root", "again.csv");
  require(again.to_csv() == m.to_csv(), "a manifest written and read back is the same");
}

Reader reader(const std::string& target) {
  if (target == "image") return read_image;
  if (target == "safetensors") return read_safetensors;
  if (target == "checkpoint") return read_checkpoint;
  if (target == "manifest") return read_manifest;
  return nullptr;
}

}  // namespace hemo::fuzz
