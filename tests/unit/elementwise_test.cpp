#include <doctest/doctest.h>

#include "nn/ops_elementwise.h"
#include "tests/support/expect.h"

using namespace hemo;
using test::check_values;

TEST_CASE("add, mul, scale: values and gradients") {
  Tensor a = Tensor::from_vector<double>({1, -2, 3, 0.5}, {2, 2}).requires_grad_();
  Tensor b = Tensor::from_vector<double>({4, 5, -1, 2}, {2, 2}).requires_grad_();
  Tensor gy = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2});

  Tensor s = nn::add(a, b);
  check_values(s, {5, 3, 2, 2.5});
  s.backward(gy);
  check_values(a.grad(), {1, 2, 3, 4});
  check_values(b.grad(), {1, 2, 3, 4});

  a.zero_grad();
  b.zero_grad();
  Tensor p = nn::mul(a, b);
  check_values(p, {4, -10, -3, 1});
  p.backward(gy);
  check_values(a.grad(), {4, 10, -3, 8});   // gy * b
  check_values(b.grad(), {1, -4, 9, 2});    // gy * a

  a.zero_grad();
  Tensor c = nn::scale(a, -1.5);
  check_values(c, {-1.5, 3, -4.5, -0.75});
  c.backward(gy);
  check_values(a.grad(), {-1.5, -3, -4.5, -6});

  // a + a: both gradient paths reach the same leaf.
  a.zero_grad();
  nn::add(a, a).backward(gy);
  check_values(a.grad(), {2, 4, 6, 8});
}

TEST_CASE("mul: a per-channel [N, C, 1, 1] or [N, C] factor is broadcast over H x W") {
  // a [2, 2, 1, 2]: planes (1, 2), (3, 4), (5, 6), (7, 8); factors 10, -1, 0.5, 2.
  std::vector<double> av{1, 2, 3, 4, 5, 6, 7, 8};
  for (Shape bshape : {Shape{2, 2, 1, 1}, Shape{2, 2}}) {
    CAPTURE(shape_str(bshape));
    Tensor a = Tensor::from_vector(av, {2, 2, 1, 2}).requires_grad_();
    Tensor b = Tensor::from_vector<double>({10, -1, 0.5, 2}, bshape).requires_grad_();
    Tensor y = nn::mul(a, b);
    CHECK(y.shape() == Shape{2, 2, 1, 2});
    check_values(y, {10, 20, -3, -4, 2.5, 3, 14, 16});
    y.backward(Tensor::from_vector<double>({1, -1, 2, 1, 1, 1, 0, 3}, {2, 2, 1, 2}));
    check_values(a.grad(), {10, -10, -2, -1, 0.5, 0.5, 0, 6});
    // gb = sum over the plane of gy * a: (1 - 2), (6 + 4), (5 + 6), (0 + 24)
    CHECK(b.grad().shape() == bshape);
    check_values(b.grad(), {-1, 10, 11, 24});
  }
}

TEST_CASE("elementwise: mismatched shapes are errors naming the op") {
  Tensor a = Tensor::ones({2, 3, 4, 5});
  CHECK_THROWS_WITH_AS(nn::add(a, Tensor::ones({2, 3, 1, 1})), doctest::Contains("add: shapes differ"), Error);
  CHECK_THROWS_WITH_AS(nn::mul(a, Tensor::ones({2, 4, 1, 1})), doctest::Contains("mul:"), Error);
  CHECK_THROWS_AS(nn::mul(a, Tensor::ones({3})), Error);
  CHECK_THROWS_AS(nn::mul(Tensor::ones({2, 3}), Tensor::ones({2, 3}, DType::f64)), Error);
  CHECK_THROWS_AS(nn::mul(Tensor::ones({2, 3, 1, 1}), a), Error);  // only b is broadcast
}
