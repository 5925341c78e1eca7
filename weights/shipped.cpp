#include "weights/shipped.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/error.h"

#ifndef HEMO_SOURCE_WEIGHTS_DIR
#define HEMO_SOURCE_WEIGHTS_DIR ""
#endif

namespace hemo::weights {

namespace fs = std::filesystem;

namespace {

// The metadata of a safetensors file, read from its header alone (the tensors are loaded later, by
// whoever uses the model). nullopt-like empty map when the file has no metadata; an Error naming
// the file when it is not a safetensors file.
std::map<std::string, std::string> header_metadata(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  HEMO_CHECK(in, file.string(), ": cannot open");
  unsigned char len_bytes[8] = {};
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  HEMO_CHECK(in.gcount() == 8, file.string(), ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  constexpr uint64_t kMaxHeader = 100u << 20;  // as the format's reference reader
  HEMO_CHECK(n >= 2 && n <= kMaxHeader, file.string(), ": not a safetensors file (header length ", n, ")");
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  HEMO_CHECK(static_cast<uint64_t>(in.gcount()) == n, file.string(), ": truncated safetensors header");
  std::map<std::string, std::string> md;
  try {
    const nlohmann::json j = nlohmann::json::parse(header);
    if (j.contains("__metadata__")) md = j.at("__metadata__").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(file.string(), ": safetensors header is not valid: ", e.what()));
  }
  return md;
}

fs::path running_binary_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::vector<fs::path> shipped_model_dirs() {
  if (const char* env = std::getenv("HEMO_WEIGHTS_DIR"); env && *env) return {fs::path(env)};
  std::vector<fs::path> candidates;
  if (const fs::path bin = running_binary_dir(); !bin.empty()) {
    candidates.push_back(bin.parent_path() / "share" / "hemo" / "weights");
    candidates.push_back(bin / "weights");
  }
  if (*HEMO_SOURCE_WEIGHTS_DIR) candidates.emplace_back(HEMO_SOURCE_WEIGHTS_DIR);
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_directory(c, ec)) out.push_back(c);
  return out;
}

std::vector<ShippedModel> shipped_models_in(const fs::path& dir) {
  std::vector<ShippedModel> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".safetensors") continue;
    const auto md = header_metadata(e.path());
    const auto name = md.find("hemo.shipped.name");
    if (name == md.end()) continue;  // converted ImageNet weights and the like
    const std::string origin = e.path().string();
    ShippedModel m;
    m.file = e.path();
    m.name = name->second;
    m.meta = ModelMeta::from_metadata(md, origin);
    auto get = [&](const char* key) -> const std::string& {
      const auto it = md.find(key);
      HEMO_CHECK(it != md.end(), origin, ": shipped model lacks metadata '", key, "'");
      return it->second;
    };
    try {
      m.test_accuracy = std::stod(get("hemo.shipped.test_accuracy"));
      m.test_images = std::stoll(get("hemo.shipped.test_images"));
    } catch (const std::logic_error&) {
      throw Error(cat(origin, ": metadata hemo.shipped.test_accuracy/test_images is not a number"));
    }
    HEMO_CHECK(m.test_accuracy >= 0 && m.test_accuracy <= 1 && m.test_images > 0, origin,
               ": metadata hemo.shipped.test_accuracy/test_images out of range");
    m.manifest = get("hemo.shipped.manifest");
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const ShippedModel& a, const ShippedModel& b) {
    return a.test_accuracy != b.test_accuracy ? a.test_accuracy > b.test_accuracy : a.name < b.name;
  });
  return out;
}

std::vector<ShippedModel> shipped_models() {
  const auto dirs = shipped_model_dirs();
  for (const auto& d : dirs)
    if (auto found = shipped_models_in(d); !found.empty()) return found;
  std::string looked;
  for (const auto& d : dirs) looked += (looked.empty() ? "" : ", ") + d.string();
  throw Error(cat("no shipped model found (looked in ", looked.empty() ? "no existing folder" : looked,
                  "): name a model file (--checkpoint/--model), or set HEMO_WEIGHTS_DIR to the folder of "
                  "the shipped *.safetensors (weights/MODELS.md)"));
}

ShippedModel best_shipped_model() { return shipped_models().front(); }

}  // namespace hemo::weights
