#include "train/checkpoint.h"

#include <filesystem>

namespace hemo::train {

namespace {
const char* kOptimizerPrefix = "optimizer.";

const std::string& field(const std::map<std::string, std::string>& md, const std::string& key, const std::string& origin) {
  auto it = md.find(key);
  HEMO_CHECK(it != md.end(), origin, ": not a hemo model file: metadata lacks '", key,
             "' (convert torchvision weights with tools/convert_torchvision.py)");
  return it->second;
}

nlohmann::json parse_json(const std::string& text, const std::string& key, const std::string& origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(origin, ": metadata '", key, "' is not valid JSON: ", e.what()));
  }
}
}  // namespace

std::map<std::string, std::string> ModelMeta::to_metadata() const {
  return {{"architecture", architecture},
          {"num_classes", std::to_string(num_classes)},
          {"class_names", nlohmann::json(class_names).dump()},
          {"input_size", std::to_string(input_size)},
          {"mean", nlohmann::json(mean).dump()},
          {"std", nlohmann::json(std).dump()}};
}

ModelMeta ModelMeta::from_metadata(const std::map<std::string, std::string>& md, const std::string& origin) {
  ModelMeta m;
  try {
    m.architecture = field(md, "architecture", origin);
    m.num_classes = std::stoll(field(md, "num_classes", origin));
    m.input_size = std::stoll(field(md, "input_size", origin));
  } catch (const std::logic_error& e) {  // stoll
    throw Error(cat(origin, ": metadata num_classes/input_size is not an integer"));
  }
  try {
    m.class_names = parse_json(field(md, "class_names", origin), "class_names", origin).get<std::vector<std::string>>();
    m.mean = parse_json(field(md, "mean", origin), "mean", origin).get<std::array<double, 3>>();
    m.std = parse_json(field(md, "std", origin), "std", origin).get<std::array<double, 3>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(origin, ": metadata class_names/mean/std has the wrong form: ", e.what()));
  }
  HEMO_CHECK(static_cast<int64_t>(m.class_names.size()) == m.num_classes, origin, ": metadata names ",
             m.class_names.size(), " classes but num_classes is ", m.num_classes);
  return m;
}

void save_checkpoint(const std::string& path, const nn::Module& model, const ModelMeta& meta, const Optimizer* optimizer,
                     const nlohmann::json& train_state) {
  weights::NamedTensors tensors = model.state_dict();
  if (optimizer)
    for (auto& [n, t] : optimizer->state()) tensors.emplace_back(kOptimizerPrefix + n, t);
  auto md = meta.to_metadata();
  if (!train_state.is_null()) md["hemo.train_state"] = train_state.dump();
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  weights::save_tensors(path, tensors, md);
}

Checkpoint load_checkpoint(const std::string& path) {
  HEMO_CHECK(std::filesystem::is_regular_file(path), "checkpoint ", path, " does not exist or is not a file");
  weights::TensorFile file = weights::load_tensors(path);
  Checkpoint c;
  c.path = path;
  c.meta = ModelMeta::from_metadata(file.metadata, path);
  const std::string prefix = kOptimizerPrefix;
  for (auto& [n, t] : file.tensors) {
    if (n.rfind(prefix, 0) == 0)
      c.optimizer.emplace_back(n.substr(prefix.size()), t);
    else
      c.model.emplace_back(n, t);
  }
  auto it = file.metadata.find("hemo.train_state");
  if (it != file.metadata.end()) c.train_state = parse_json(it->second, "hemo.train_state", path);
  return c;
}

void check_matches(const Checkpoint& ckpt, const std::string& architecture, int64_t num_classes) {
  HEMO_CHECK(ckpt.meta.architecture == architecture, ckpt.path, " holds a ", ckpt.meta.architecture,
             " but a ", architecture, " was asked for");
  HEMO_CHECK(ckpt.meta.num_classes == num_classes, ckpt.path, " was trained for ", ckpt.meta.num_classes,
             " classes but the data has ", num_classes);
}

}  // namespace hemo::train
