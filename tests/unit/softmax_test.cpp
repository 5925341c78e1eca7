#include <doctest/doctest.h>

#include <cmath>

#include "nn/ops_softmax.h"
#include "tests/support/expect.h"

using namespace hemo;
using test::check_values;

namespace {
const double l2 = std::log(2.0), l3 = std::log(3.0), l6 = std::log(6.0);
}

TEST_CASE("softmax: exp(x) proportional to 1, 2, 3 gives 1/6, 2/6, 3/6 along any dim") {
  // Along dim 1 of [2, 3]: rows (0, ln2, ln3) and (ln3, ln2, 0).
  Tensor x = Tensor::from_vector<double>({0, l2, l3, l3, l2, 0}, {2, 3});
  check_values(nn::softmax(x, 1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6});
  check_values(nn::softmax(x, -1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6});
  check_values(nn::log_softmax(x, 1), {-l6, l2 - l6, l3 - l6, l3 - l6, l2 - l6, -l6});
  // Along dim 0 the entries of a row sit 3 apart: column j is (x[0][j], x[1][j]).
  check_values(nn::softmax(x, 0), {0.25, 0.5, 0.75, 0.75, 0.5, 0.25});
  // dim 1 of [1, 2, 1, 3]: strided rows inside a 4-d tensor.
  Tensor x4 = Tensor::from_vector<double>({0, 0, l3, l3, 0, 0}, {1, 2, 1, 3});
  check_values(nn::softmax(x4, 1), {0.25, 0.5, 0.75, 0.75, 0.5, 0.25});
}

TEST_CASE("softmax: large logits are stable (the max is subtracted)") {
  Tensor x = Tensor::from_vector<float>({1000, 1000, -1000, 0}, {2, 2});
  check_values(nn::softmax(x, 1), {0.5, 0.5, 0, 1});
  check_values(nn::log_softmax(x, 1), {-std::log(2.0), -std::log(2.0), -1000, 0});
}

TEST_CASE("softmax and log_softmax backward: hand-computed") {
  Tensor x = Tensor::from_vector<double>({0, l2, l3}, {1, 3}).requires_grad_();
  // softmax: y = (1, 2, 3)/6, gy = (1, 0, 0): gx = y (gy - 1/6) = (5, -2, -3)/36.
  nn::softmax(x, 1).backward(Tensor::from_vector<double>({1, 0, 0}, {1, 3}));
  check_values(x.grad(), {5.0 / 36, -2.0 / 36, -3.0 / 36});
  // log_softmax: gx = gy - softmax sum(gy); gy = (1, 2, 0): (1 - 3/6, 2 - 6/6, 0 - 9/6).
  x.zero_grad();
  nn::log_softmax(x, -1).backward(Tensor::from_vector<double>({1, 2, 0}, {1, 3}));
  check_values(x.grad(), {0.5, 1, -1.5});
}

TEST_CASE("softmax: a bad dim is an error naming the op") {
  Tensor x = Tensor::ones({2, 3});
  CHECK_THROWS_WITH_AS(nn::softmax(x, 2), doctest::Contains("softmax: dim 2"), Error);
  CHECK_THROWS_AS(nn::log_softmax(x, -3), Error);
}
