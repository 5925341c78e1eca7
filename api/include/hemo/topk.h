// Read the most probable classes from a model's output (public API; see <hemo/model.h>).
#pragma once
#include <string>
#include <vector>

namespace hemo {

struct ClassScore {
  int index = 0;         // the class's position in the model's outputs
  std::string name;      // its name (class_names[index])
  float probability = 0;
};

// The k largest of one row of probabilities (or logits), largest first; ties keep the lower
// index first. k is clipped to the row's length. Throws std::invalid_argument when the row and
// the class names differ in length.
std::vector<ClassScore> top_k(const std::vector<float>& row, const std::vector<std::string>& class_names, int k);

}  // namespace hemo
