// Magnitude-scaled comparison of an actual tensor with a reference.
//
// Element i passes when |a_i - e_i| <= tol * (|e_i| + scale), scale = the reference's RMS (or 1
// when the reference is all zeros): relative where values are large, absolute at the tensor's own
// magnitude where they are near zero. The report names the worst element (largest ratio of error
// to allowance), its index, both values, and how many elements failed.
#pragma once
#include <cmath>
#include <string>

#include "tensor/tensor.h"

namespace hemo::test {

struct Comparison {
  bool ok = true;
  double worst = 0;  // the worst element's error / allowance (inf for a non-finite element)
  std::string report;
};

inline Comparison compare(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
  Comparison c;
  if (actual.shape() != expected.shape()) {
    c.ok = false;
    c.report = what + ": shape " + shape_str(actual.shape()) + " != expected " + shape_str(expected.shape());
    return c;
  }
  std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double ss = 0;
  for (double v : e) ss += v * v;
  double scale = e.empty() ? 1.0 : std::sqrt(ss / static_cast<double>(e.size()));
  if (scale == 0) scale = 1.0;
  double worst = -1;
  size_t worst_i = 0, failed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double allowance = tol * (std::fabs(e[i]) + scale);
    double ratio = std::isfinite(a[i]) ? std::fabs(a[i] - e[i]) / allowance : INFINITY;
    if (!(ratio <= 1.0)) ++failed;
    if (!(ratio <= worst)) {
      worst = ratio;
      worst_i = i;
    }
  }
  c.ok = failed == 0;
  c.worst = worst;
  c.report = cat(what, ": ", failed, "/", a.size(), " elements out of tolerance ", tol, " (scale ", scale,
                 "); worst at flat index ", worst_i, ": got ", a.empty() ? 0.0 : a[worst_i], ", expected ",
                 e.empty() ? 0.0 : e[worst_i], ", error/allowance ", worst);
  return c;
}

}  // namespace hemo::test

// CHECK that `actual` matches `expected`; the worst mismatch is printed on failure.
#define HEMO_CHECK_CLOSE(actual, expected, tol, what)                  \
  do {                                                                 \
    auto hemo_cmp_ = ::hemo::test::compare((actual), (expected), (tol), (what)); \
    CHECK_MESSAGE(hemo_cmp_.ok, hemo_cmp_.report);                      \
  } while (0)
