#include "tools/prediction_report.h"

#include <algorithm>
#include <iomanip>
#include <numeric>

namespace hemo::cli {

std::vector<size_t> top_classes(const std::vector<float>& probabilities, size_t k) {
  std::vector<size_t> order(probabilities.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return probabilities[a] > probabilities[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

void print_top_table(std::ostream& os, const std::string& path, const std::vector<float>& probabilities,
                     const std::vector<std::string>& class_names, size_t k) {
  os << path << "\n";
  for (size_t c : top_classes(probabilities, k))
    os << "  " << std::setw(14) << std::left << class_names.at(c) << std::fixed << std::setprecision(4)
       << probabilities[c] << "\n";
}

nlohmann::json top_json(const std::string& path, const std::vector<float>& probabilities,
                        const std::vector<std::string>& class_names, size_t k) {
  nlohmann::json top = nlohmann::json::array();
  for (size_t c : top_classes(probabilities, k))
    top.push_back({{"class", class_names.at(c)}, {"probability", probabilities[c]}});
  return {{"path", path}, {"top", top}};
}

}  // namespace hemo::cli
