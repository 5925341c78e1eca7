#include <doctest/doctest.h>

#include <cmath>

#include "nn/ops_activation.h"

using namespace hemo;

TEST_CASE("activations: hand-computed values and derivatives") {
  Tensor x = Tensor::from_vector<float>({-4, -1.5f, 0.5f, 2, 7}, {5}).requires_grad_();
  using V = std::vector<float>;
  CHECK(nn::relu(x).to_vector<float>() == V{0, 0, 0.5f, 2, 7});
  CHECK(nn::relu6(x).to_vector<float>() == V{0, 0, 0.5f, 2, 6});
  CHECK(nn::hardsigmoid(x).to_vector<float>() == V{0, 0.25f, 3.5f / 6, 5.0f / 6, 1});
  CHECK(nn::hardswish(x).to_vector<float>() == V{0, -1.5f * 0.25f, 0.5f * 3.5f / 6, 2 * 5.0f / 6, 7});
  auto s = nn::sigmoid(x).to_vector<float>();
  CHECK(s[2] == doctest::Approx(1 / (1 + std::exp(-0.5))));
  Tensor y = nn::hardswish(x);
  y.backward(Tensor::ones({5}));
  auto g = x.grad().to_vector<float>();
  CHECK(g[0] == 0);
  CHECK(g[1] == doctest::Approx((2 * -1.5 + 3) / 6));
  CHECK(g[2] == doctest::Approx((2 * 0.5 + 3) / 6));
  CHECK(g[4] == 1);
}
