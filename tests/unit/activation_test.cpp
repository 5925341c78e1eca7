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

TEST_CASE("activations: derivatives exactly on the kinks are PyTorch's") {
  using V = std::vector<float>;
  auto grad_at = [](Activation a, const V& xs) {
    Tensor x = Tensor::from_vector(xs, {static_cast<int64_t>(xs.size())}).requires_grad_();
    nn::activation(a, x).backward(Tensor::ones({static_cast<int64_t>(xs.size())}));
    return x.grad().to_vector<float>();
  };
  CHECK(grad_at(Activation::relu, {0}) == V{0});
  CHECK(grad_at(Activation::relu6, {0, 6}) == V{0, 0});
  CHECK(grad_at(Activation::hardsigmoid, {-3, 3}) == V{0, 0});
  // hardswish keeps the middle piece (2x + 3) / 6 on both ends: -1/2 at -3, 3/2 at 3 (torch's CUDA
  // and scalar CPU kernels; see kernels/activation.h).
  CHECK(grad_at(Activation::hardswish, {-3, 3}) == V{-0.5f, 1.5f});
}
