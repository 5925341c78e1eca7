#include "hemo/topk.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace hemo {

std::vector<ClassScore> top_k(const std::vector<float>& row, const std::vector<std::string>& class_names, int k) {
  if (row.size() != class_names.size())
    throw std::invalid_argument("hemo::top_k: " + std::to_string(row.size()) + " values for " +
                                std::to_string(class_names.size()) + " class names");
  std::vector<int> order(row.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
  order.resize(std::min(order.size(), static_cast<size_t>(std::max(k, 0))));
  std::vector<ClassScore> out;
  for (int i : order) out.push_back({i, class_names[static_cast<size_t>(i)], row[static_cast<size_t>(i)]});
  return out;
}

}  // namespace hemo
