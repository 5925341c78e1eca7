// How `hemo predict` and hemo-infer print an image's top-k classes: one format, one piece of code,
// so that the two programs' outputs can be compared line for line.
//   table:  the path, then one line per class, most probable first: "  <name padded to 14> 0.1234"
//   JSON:   {"path": ..., "top": [{"class": ..., "probability": ...}, ...]} per image (an array of
//           them, indented by 2); an image that could not be classified is {"path", "error"}.
// Ties keep the lower class index first.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace hemo::cli {

// Indices of the min(k, size) most probable classes, most probable first.
std::vector<size_t> top_classes(const std::vector<float>& probabilities, size_t k);

void print_top_table(std::ostream& os, const std::string& path, const std::vector<float>& probabilities,
                     const std::vector<std::string>& class_names, size_t k);

nlohmann::json top_json(const std::string& path, const std::vector<float>& probabilities,
                        const std::vector<std::string>& class_names, size_t k);

}  // namespace hemo::cli
