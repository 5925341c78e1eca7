// Float64 central-difference gradient check, with kink handling (after Caffe's
// test_gradient_check_util.hpp).
//
// For f: inputs -> output, a random weight tensor w of the output's shape defines the scalar
// L = sum(w * f(inputs)). Autograd gives dL/dx by out.backward(w); each element of each checked
// input is then perturbed by +-eps and the numeric derivative (L+ - L-) / 2eps compared with it:
// |analytic - numeric| <= tol * max(|analytic|, |numeric|, 1). A point where the one-sided slopes
// (L+ - L0)/eps and (L0 - L-)/eps disagree sits on a kink (ReLU at 0, a max-pool tie) and is
// skipped; more than max_skipped of the points skipped (a quarter by default; 0 for an op without
// kinks) is itself a failure, so a test cannot pass by skipping everything. Only the checked
// inputs require grad. Returns the worst relative error seen over every checked input.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tensor/autograd.h"
#include "tests/support/random.h"

namespace hemo::test {

struct GradcheckOptions {
  double eps = 1e-6;
  double tol = 1e-5;
  double kink_tol = 1e-3;           // one-sided slopes differing by more than this (relative) = kink
  double max_skipped = 0.25;        // the fraction of points that may be skipped as kinks
  std::vector<bool> check;          // which inputs to check (default: all)
  uint64_t seed = 1234;
};

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

inline double gradcheck(const std::string& name, const GradFn& f, std::vector<Tensor> inputs,
                        GradcheckOptions opt = {}) {
  if (opt.check.empty()) opt.check.assign(inputs.size(), true);
  for (size_t k = 0; k < inputs.size(); ++k) {
    REQUIRE_MESSAGE(inputs[k].dtype() == DType::f64, name, ": gradcheck inputs must be float64");
    inputs[k] = inputs[k].detach().clone();
    if (opt.check[k]) inputs[k].requires_grad_(true);
  }
  double worst_all = 0;

  Tensor out = f(inputs);
  Tensor w = random_tensor(out.shape(), opt.seed);
  out.backward(w);

  auto loss = [&]() {
    NoGradGuard ng;
    Tensor o = f(inputs);
    std::vector<double> ov = o.to_vector<double>(), wv = w.to_vector<double>();
    double s = 0;
    for (size_t i = 0; i < ov.size(); ++i) s += ov[i] * wv[i];
    return s;
  };

  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!opt.check[k]) continue;
    Tensor grad = inputs[k].grad();
    REQUIRE_MESSAGE(grad.defined(), name, ": input ", k, " got no gradient");
    std::vector<double> analytic = grad.to_vector<double>();
    double* x = inputs[k].data<double>();
    int64_t n = inputs[k].numel(), skipped = 0, failed = 0;
    double worst = 0;
    std::string worst_msg;
    for (int64_t i = 0; i < n; ++i) {
      double saved = x[i];
      double l0 = loss();
      x[i] = saved + opt.eps;
      double lp = loss();
      x[i] = saved - opt.eps;
      double lm = loss();
      x[i] = saved;
      double sp = (lp - l0) / opt.eps, sm = (l0 - lm) / opt.eps;
      if (std::fabs(sp - sm) > opt.kink_tol * std::max({1.0, std::fabs(sp), std::fabs(sm)})) {
        ++skipped;
        continue;
      }
      double numeric = (lp - lm) / (2 * opt.eps);
      double a = analytic[static_cast<size_t>(i)];
      double err = std::fabs(a - numeric) / std::max({std::fabs(a), std::fabs(numeric), 1.0});
      if (err > opt.tol) ++failed;
      if (err > worst || worst_msg.empty()) {
        worst = err;
        worst_msg = cat("index ", i, ": analytic ", a, ", numeric ", numeric);
      }
    }
    std::string where = cat(name, " input ", k, " ", shape_str(inputs[k].shape()));
    CHECK_MESSAGE(failed == 0, where, ": ", failed, "/", n, " gradients off by more than ", opt.tol,
                  "; worst ", worst, " at ", worst_msg);
    CHECK_MESSAGE(static_cast<double>(skipped) <= opt.max_skipped * static_cast<double>(n), where, ": ", skipped,
                  "/", n, " points skipped as kinks (at most ", opt.max_skipped, " of them may be)");
    worst_all = std::max(worst_all, worst);
  }
  return worst_all;
}

}  // namespace hemo::test
