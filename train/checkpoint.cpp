#include "train/checkpoint.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace hemo::train {

namespace {
using models::kOptimizerPrefix;

nlohmann::json parse_train_state(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(path, ": metadata 'hemo.train_state' is not valid JSON: ", e.what()));
  }
}
}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const ModelMeta& meta, const Optimizer* optimizer,
                     const nlohmann::json& train_state) {
  weights::NamedTensors tensors = model.state_dict();
  if (optimizer)
    for (auto& [n, t] : optimizer->state()) tensors.emplace_back(std::string(kOptimizerPrefix) + n, t);
  auto md = meta.to_metadata();
  if (!train_state.is_null()) md["hemo.train_state"] = train_state.dump();
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  HEMO_CHECK(!ec, "cannot save the checkpoint ", path, ": cannot create ", dir.string(), ": ", ec.message());
  try {
    weights::save_tensors(path, tensors, md);
  } catch (const Error& e) {
    // safetensors::save renames only a complete, fsynced file over `path`, so what was there stays.
    throw Error(cat("cannot save the checkpoint ", path, ": ", e.what(), " (any earlier ", path,
                    " is left as it was)"));
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  HEMO_CHECK(std::filesystem::is_regular_file(path), "checkpoint ", path, " does not exist or is not a file");
  Checkpoint c;
  static_cast<models::ModelFile&>(c) = models::read_model_file(path, models::WithOptimizer::yes);
  auto it = c.metadata.find("hemo.train_state");
  if (it != c.metadata.end()) c.train_state = parse_train_state(it->second, path);
  return c;
}

std::string manifest_hash(const std::string& manifest_csv) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : manifest_csv) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void check_matches(const Checkpoint& ckpt, const std::string& architecture, int64_t num_classes) {
  HEMO_CHECK(ckpt.meta.architecture == architecture, ckpt.path, " holds a ", ckpt.meta.architecture,
             " but a ", architecture, " was asked for");
  HEMO_CHECK(ckpt.meta.num_classes == num_classes, ckpt.path, " was trained for ", ckpt.meta.num_classes,
             " classes but the data has ", num_classes);
}

}  // namespace hemo::train
