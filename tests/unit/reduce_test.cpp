#include <doctest/doctest.h>

#include <cmath>

#include "nn/ops_reduce.h"
#include "tests/support/expect.h"

using namespace hemo;
using test::check_values;

namespace {
// x [2, 3, 2] = 1..12 in order.
Tensor x12() {
  std::vector<double> v(12);
  for (int i = 0; i < 12; ++i) v[static_cast<size_t>(i)] = i + 1;
  return Tensor::from_vector(v, {2, 3, 2}).requires_grad_();
}
}  // namespace

TEST_CASE("sum and mean over every element: 0-d results, uniform gradients") {
  Tensor x = x12();
  Tensor s = nn::sum(x);
  CHECK(s.shape() == Shape{});
  check_values(s, {78});
  s.backward(Tensor::full({}, 2.0, DType::f64));
  check_values(x.grad(), std::vector<double>(12, 2.0));
  x.zero_grad();
  Tensor m = nn::mean(x);
  check_values(m, {6.5});
  m.backward();
  check_values(x.grad(), std::vector<double>(12, 1.0 / 12));
}

TEST_CASE("sum and mean along one dim, keepdim or not, negative dims") {
  Tensor x = x12();
  // dim 0: element-wise pairs (i, i + 6).
  check_values(nn::sum(x, 0), {8, 10, 12, 14, 16, 18});
  CHECK(nn::sum(x, 0).shape() == Shape{3, 2});
  // dim 1 (rows of 3 spaced 2 apart): (1 + 3 + 5), (2 + 4 + 6), (7 + 9 + 11), (8 + 10 + 12)
  check_values(nn::sum(x, 1), {9, 12, 27, 30});
  CHECK(nn::sum(x, 1, true).shape() == Shape{2, 1, 2});
  check_values(nn::mean(x, -2, true), {3, 4, 9, 10});
  // dim 2 (the last): adjacent pairs.
  check_values(nn::mean(x, -1), {1.5, 3.5, 5.5, 7.5, 9.5, 11.5});

  Tensor y = nn::mean(x, 1);
  y.backward(Tensor::from_vector<double>({3, 6, -3, 9}, {2, 2}));
  check_values(x.grad(), {1, 2, 1, 2, 1, 2, -1, 3, -1, 3, -1, 3});
}

TEST_CASE("reductions: empty dims and bad dims") {
  Tensor e = Tensor::zeros({2, 0});
  check_values(nn::sum(e, 1), {0, 0});
  CHECK(std::isnan(nn::mean(e).item()));  // 0 / 0, as PyTorch
  Tensor x = Tensor::ones({2, 3});
  CHECK_THROWS_WITH_AS(nn::sum(x, 2), doctest::Contains("sum: dim 2"), Error);
  CHECK_THROWS_AS(nn::mean(x, -3), Error);
}
