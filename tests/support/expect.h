// CHECKs every element of a tensor against hand-computed values: doctest's Approx, i.e.
// |got - want| < eps (1 + max(|got|, |want|)), with the index captured on failure.
#pragma once
#include <doctest/doctest.h>

#include <vector>

#include "tensor/tensor.h"

namespace hemo::test {

inline void check_values(const Tensor& t, const std::vector<double>& want, double eps = 1e-6) {
  const std::vector<double> v = t.to_vector<double>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == doctest::Approx(want[i]).epsilon(eps));
  }
}

}  // namespace hemo::test
