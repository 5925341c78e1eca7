// --precision bf16 on the CPU (kernels/precision.h): convolutions and linear layers, forward and
// both gradients, against the same ops in float32.
//
// Tolerance, per output element: a bf16 product differs from the float32 one by at most 2^-8 of
// its magnitude (each operand rounds by at most 2^-9), so an output that sums products differs by
// at most 2^-8 times the sum of their magnitudes, plus float32 summation error (1e-5 of it here).
// The magnitudes come from the same op run in float32 on |x|, |w| and |gy|: the forward gives
// sum |x||w| per output, its backward sum |gy||w| per input and sum |gy||x| per weight. Each case
// must also differ from float32 somewhere by more than summation error, or bf16 never ran.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/precision.h"
#include "nn/ops_conv.h"
#include "nn/ops_linear.h"
#include "tests/support/random.h"

using namespace hemo;
using hemo::test::random_tensor;

namespace {

struct Outputs {
  std::vector<float> y, gx, gw;
};

// y = op(x, w) and the gradients of sum(y * gy) with respect to x and w, in float32, under the
// given precision.
Outputs run(const std::function<Tensor(const Tensor&, const Tensor&)>& op, const Tensor& x0, const Tensor& w0,
            const Tensor& gy, Precision precision) {
  set_precision(precision, Device::cpu());
  Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
  Tensor y = op(x, w);
  y.backward(gy);
  set_precision(Precision::fp32, Device::cpu());
  return {y.to_vector<float>(), x.grad().to_vector<float>(), w.grad().to_vector<float>()};
}

Tensor abs_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& e : v) e = std::fabs(e);
  return Tensor::from_vector(v, t.shape());
}

// Worst |bf16 - fp32| / allowance over y, gx and gw; fails the test past 1. `differs` is the
// largest difference measured in float32 summation errors (1e-5 of the magnitude).
void check_op(const std::string& name, const std::function<Tensor(const Tensor&, const Tensor&)>& op,
              const Shape& x_shape, const Shape& w_shape, uint64_t seed) {
  CAPTURE(name);
  const Tensor x = random_tensor(x_shape, seed, DType::f32), w = random_tensor(w_shape, seed + 1, DType::f32);
  const Shape y_shape = op(x, w).shape();
  const Tensor gy = random_tensor(y_shape, seed + 2, DType::f32);
  const Outputs want = run(op, x, w, gy, Precision::fp32), got = run(op, x, w, gy, Precision::bf16);
  const Outputs mag = run(op, abs_of(x), abs_of(w), abs_of(gy), Precision::fp32);
  double worst = 0, differs = 0;
  std::string where;
  const auto compare = [&](const char* what, const std::vector<float>& a, const std::vector<float>& b,
                           const std::vector<float>& m) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
      const double ratio = d / ((std::ldexp(1.0, -8) + 1e-5) * m[i] + 1e-30);
      if (ratio > worst) {
        worst = ratio;
        where = cat(what, "[", i, "]: bf16 ", a[i], ", float32 ", b[i]);
      }
      differs = std::max(differs, d / (1e-5 * m[i] + 1e-30));
    }
  };
  compare("y", got.y, want.y, mag.y);
  compare("gx", got.gx, want.gx, mag.gx);
  compare("gw", got.gw, want.gw, mag.gw);
  MESSAGE(name, ": worst |bf16 - float32| / allowance ", worst, " at ", where, "; largest difference ", differs,
          " float32 summation errors");
  CHECK(worst <= 1);
  CHECK(differs > 10);
}

}  // namespace

TEST_CASE("bf16 precision: convolutions and linear layers, forward and gradients, against float32") {
  using nn::conv2d;
  check_op("conv 3x3 pad 1", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {1, 1}, {1, 1}); },
           {2, 5, 9, 11}, {7, 5, 3, 3}, 1);
  check_op("conv 3x3 stride 2", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {2, 2}, {1, 1}); },
           {3, 16, 12, 10}, {40, 16, 3, 3}, 4);
  check_op("conv 1x1", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor()); }, {2, 33, 7, 7},
           {20, 33, 1, 1}, 7);
  check_op("conv grouped",
           [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {1, 1}, {1, 1}, {1, 1}, 2); },
           {2, 8, 6, 6}, {6, 4, 3, 3}, 10);
  check_op("linear", [](const Tensor& x, const Tensor& w) { return nn::linear(x, w, Tensor()); }, {9, 70}, {13, 70},
           13);
  CHECK_FALSE(cpu::gemm_bf16());
}

TEST_CASE("bf16 precision: float64 (the gradient checks' type) is never rounded") {
  const Tensor x = random_tensor({2, 3, 5, 5}, 20), w = random_tensor({4, 3, 3, 3}, 21);
  set_precision(Precision::bf16, Device::cpu());
  const std::vector<double> got = nn::conv2d(x, w, Tensor()).to_vector<double>();
  set_precision(Precision::fp32, Device::cpu());
  CHECK(got == nn::conv2d(x, w, Tensor()).to_vector<double>());
}
