// linear: hand-computed forward and gradients, leading batch dimensions, shape errors.
#include <doctest/doctest.h>

#include <vector>

#include "nn/ops_linear.h"

using namespace hemo;
using V = std::vector<float>;

TEST_CASE("linear: y = x W^T + b and its three gradients by hand") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor w = Tensor::from_vector<float>({1, 0, -1, 2, 1, 0}, {2, 3}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({0.5f, -1}, {2}).requires_grad_();
  Tensor y = nn::linear(x, w, b);
  CHECK(y.shape() == Shape{2, 2});
  CHECK(y.to_vector<float>() == V{1 - 3 + 0.5f, 2 + 2 - 1, 4 - 6 + 0.5f, 8 + 5 - 1});
  y.backward(Tensor::from_vector<float>({1, 0, 2, 3}, {2, 2}));
  CHECK(x.grad().to_vector<float>() == V{1, 0, -1, 2 + 6, 3, -2});   // gy W
  CHECK(w.grad().to_vector<float>() == V{1 + 8, 2 + 10, 3 + 12, 12, 15, 18});  // gy^T x
  CHECK(b.grad().to_vector<float>() == V{3, 3});                      // column sums of gy
}

TEST_CASE("linear: no bias, leading dimensions, gradient only where asked") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 1, 3});
  Tensor w = Tensor::from_vector<float>({1, 1, 1}, {1, 3}).requires_grad_();
  Tensor y = nn::linear(x, w, Tensor());
  CHECK(y.shape() == Shape{2, 1, 1});
  CHECK(y.to_vector<float>() == V{6, 15});
  y.backward(Tensor::ones({2, 1, 1}));
  CHECK_FALSE(x.grad().defined());
  CHECK(w.grad().to_vector<float>() == V{5, 7, 9});
}

TEST_CASE("linear: shape errors name the op") {
  Tensor x = Tensor::ones({4, 3});
  CHECK_THROWS_WITH_AS(nn::linear(x, Tensor::ones({2, 5}), Tensor()), doctest::Contains("linear"), Error);
  CHECK_THROWS_AS(nn::linear(x, Tensor::ones({2, 3}), Tensor::ones({3})), Error);
  CHECK_THROWS_AS(nn::linear(x, Tensor::ones({2, 3, 1}), Tensor()), Error);
  CHECK_THROWS_AS(nn::linear(x.to(DType::f64), Tensor::ones({2, 3}), Tensor()), Error);
}
