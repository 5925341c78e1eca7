#include "train/json_shape.h"

#include "core/error.h"

namespace hemo::train {

void require_json_shape(const nlohmann::json& got, const nlohmann::json& like, const std::string& origin,
                        const std::string& path) {
  const std::string where = path.empty() ? "the document" : cat("field '", path, "'");
  if (like.is_number_unsigned()) {
    HEMO_CHECK(got.is_number_unsigned() || (got.is_number_integer() && got.get<int64_t>() >= 0),
               origin, ": ", where, " must be a non-negative integer (got ", got.dump(), ")");
  } else if (like.is_number_integer()) {
    HEMO_CHECK(got.is_number_integer(), origin, ": ", where, " must be an integer (got ", got.dump(), ")");
  } else if (like.is_object() && got.is_object()) {
    for (const auto& [key, value] : like.items())
      if (const auto it = got.find(key); it != got.end())
        require_json_shape(*it, value, origin, path.empty() ? key : cat(path, ".", key));
  } else if (like.is_array() && !like.empty() && got.is_array()) {
    for (size_t i = 0; i < got.size(); ++i) require_json_shape(got[i], like[0], origin, cat(path, "[", i, "]"));
  }
}

}  // namespace hemo::train
