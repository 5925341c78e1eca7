// Shorthands for the registration files opcases/<op>.cpp (not part of the registry's contract).
#pragma once
#include <string>
#include <vector>

#include "opcases/registry.h"

namespace hemo::opcases {

// A differentiable input, values +-[lo, hi].
inline InputSpec arg(std::string name, double lo = 0.1, double hi = 1.0) {
  return InputSpec{std::move(name), Init::signed_mag, lo, hi, true, {}, {}};
}
// An input that takes no gradient, values uniform in [lo, hi].
inline InputSpec constant(std::string name, double lo, double hi) {
  return InputSpec{std::move(name), Init::uniform, lo, hi, false, {}, {}};
}
// Class labels bounded by dimension `dim` of input `input`.
inline InputSpec labels(std::string name, int input, int dim) {
  return InputSpec{std::move(name), Init::index, 0, 0, false, {input, dim}, {}};
}
// Fixed values (repeated to fill the shape).
inline InputSpec fixed(std::string name, std::vector<double> values, bool grad = true) {
  return InputSpec{std::move(name), Init::fixed, 0, 0, grad, {}, std::move(values)};
}

// One single-input sample per shape.
inline std::vector<Shapes> each(const std::vector<Shape>& shapes) {
  std::vector<Shapes> out;
  for (const Shape& s : shapes) out.push_back({s});
  return out;
}

// The shapes of `pool` with more than `min_rank` dimensions (for ops along a dimension).
inline std::vector<Shape> rank_above(const std::vector<Shape>& pool, int64_t min_rank) {
  std::vector<Shape> out;
  for (const Shape& s : pool)
    if (static_cast<int64_t>(s.size()) > min_rank) out.push_back(s);
  return out;
}

// A Python tuple "(a, b)" of two integers.
inline std::string py_pair(int64_t a, int64_t b) { return cat("(", a, ", ", b, ")"); }

}  // namespace hemo::opcases
