// Random test data: values uniform in +-[lo_abs, hi_abs], never zero, so an unwritten or
// zeroed output cannot pass for a right one.
#pragma once
#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace hemo::test {

inline Tensor random_tensor(const Shape& shape, uint64_t seed, DType dtype = DType::f64, double lo_abs = 0.1,
                            double hi_abs = 1.0) {
  Generator g(seed, 77);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) {
    double m = g.uniform(lo_abs, hi_abs);
    x = g.uniform() < 0.5 ? -m : m;
  }
  return Tensor::from_vector(v, shape).to(dtype);
}

inline Tensor random_positive(const Shape& shape, uint64_t seed, DType dtype = DType::f64, double lo = 0.5,
                              double hi = 1.5) {
  Generator g(seed, 78);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = g.uniform(lo, hi);
  return Tensor::from_vector(v, shape).to(dtype);
}

}  // namespace hemo::test
