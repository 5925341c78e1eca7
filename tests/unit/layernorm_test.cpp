#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "nn/layers.h"
#include "nn/ops_norm.h"

using namespace hemo;

namespace {
void check_all(const Tensor& t, const std::vector<double>& want) {
  auto v = t.to_vector<float>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == doctest::Approx(want[i]).epsilon(1e-6));
  }
}
}  // namespace

TEST_CASE("layer_norm: hand-computed output and gradients over the channels of an NCHW map") {
  // x [1, 3, 1, 2]: position 0 holds 1, 2, 6 over the channels (mean 3, biased var 14/3), position
  // 1 holds 0, 4, -4 (mean 0, var 32/3). eps 1/3 makes the inverse deviations 1/sqrt(5) and 1/sqrt(11).
  Tensor x = Tensor::from_vector<float>({1, 0, 2, 4, 6, -4}, {1, 3, 1, 2}).requires_grad_();
  Tensor w = Tensor::from_vector<float>({2, -1, 0.5f}, {3}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({0, 1, -1}, {3}).requires_grad_();
  Tensor y = nn::layer_norm(x, w, b, 1.0 / 3);
  const double i0 = 1 / std::sqrt(5.0), i1 = 1 / std::sqrt(11.0);
  // xhat: position 0 (-2, -1, 3) i0, position 1 (0, 4, -4) i1.
  check_all(y, {-4 * i0, 0, 1 + i0, 1 - 4 * i1, -1 + 1.5 * i0, -1 - 2 * i1});

  // gy = 1 at (channel 0, position 0) only: g = gamma gy = (2, 0, 0) there, mean(g) = 2/3,
  // mean(g xhat) = -4 i0 / 3, so gx = i0 (g - 2/3 - xhat (-4 i0 / 3)) at position 0, 0 at position 1.
  y.backward(Tensor::from_vector<float>({1, 0, 0, 0, 0, 0}, {1, 3, 1, 2}));
  const double m = -4 * i0 / 3;
  check_all(x.grad(), {i0 * (2 - 2.0 / 3 - (-2 * i0) * m), 0, i0 * (-2.0 / 3 - (-1 * i0) * m), 0,
                       i0 * (-2.0 / 3 - (3 * i0) * m), 0});
  check_all(w.grad(), {-2 * i0, 0, 0});  // sum(gy xhat)
  check_all(b.grad(), {1, 0, 0});        // sum(gy)
}

TEST_CASE("nn::LayerNorm: torch's parameters, [N, C] rows, and a clear error for the wrong channel count") {
  nn::LayerNorm ln(4, 1e-6);
  const auto sd = ln.state_dict();
  REQUIRE(sd.size() == 2);
  CHECK(sd[0].first == "weight");
  CHECK(sd[1].first == "bias");
  CHECK(ln.weight.to_vector<float>() == std::vector<float>(4, 1));
  CHECK(ln.bias.to_vector<float>() == std::vector<float>(4, 0));
  // Rows [2, 4]: each row normalized on its own; a row of equal values gives 0 (bias).
  Tensor y = ln(Tensor::from_vector<float>({1, 2, 3, 4, 5, 5, 5, 5}, {2, 4}));
  const double inv = 1 / std::sqrt(1.25 + 1e-6);
  check_all(y, {-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv, 0, 0, 0, 0});
  CHECK_THROWS_WITH(ln(Tensor::zeros({2, 3, 5, 5})),
                    doctest::Contains("LayerNorm(4): expected [N, 4, ...] input, got"));
}
