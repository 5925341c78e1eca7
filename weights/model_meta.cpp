#include "weights/model_meta.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hemo::weights {

namespace {
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
  std::map<std::string, std::string> md{{"architecture", architecture},
                                        {"num_classes", std::to_string(num_classes)},
                                        {"class_names", nlohmann::json(class_names).dump()},
                                        {"input_size", std::to_string(input_size)},
                                        {"mean", nlohmann::json(mean).dump()},
                                        {"std", nlohmann::json(std).dump()}};
  if (pool_stride != 2) md["pool_stride"] = std::to_string(pool_stride);
  return md;
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
  if (auto it = md.find("pool_stride"); it != md.end()) {
    try {
      m.pool_stride = std::stoll(it->second);
    } catch (const std::logic_error&) {
      throw Error(cat(origin, ": metadata pool_stride is not an integer"));
    }
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
  m.validate(origin);
  return m;
}

void ModelMeta::validate(const std::string& origin) const {
  HEMO_CHECK(num_classes >= 1 && num_classes <= kMaxClasses, origin, ": metadata num_classes ", num_classes,
             " is outside [1, ", kMaxClasses, "]");
  HEMO_CHECK(input_size >= kMinInputSize && input_size <= kMaxInputSize, origin, ": metadata input_size ", input_size,
             " is outside [", kMinInputSize, ", ", kMaxInputSize, "]");
  HEMO_CHECK(pool_stride == 1 || pool_stride == 2, origin, ": metadata pool_stride ", pool_stride, " is not 1 or 2");
  for (size_t k = 0; k < 3; ++k) {
    HEMO_CHECK(std::isfinite(mean[k]), origin, ": metadata mean[", k, "] is ", mean[k], ", not a finite number");
    HEMO_CHECK(std::isfinite(std[k]) && std[k] > 0, origin, ": metadata std[", k, "] is ", std[k],
               "; a normalization divides by it, so it must be a positive finite number");
  }
}

}  // namespace hemo::weights
