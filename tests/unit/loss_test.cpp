#include <doctest/doctest.h>

#include <cmath>

#include "nn/ops_loss.h"
#include "tests/support/expect.h"

using namespace hemo;
using test::check_values;

namespace {
// Row 0 = (0, ln2, ln3): p = (1/6, 1/3, 1/2), label 2.  Row 1 = (ln3, 0, 0): p = (3/5, 1/5, 1/5),
// label 0. So -log p: row 0 (ln6, ln3, ln2), row 1 (ln(5/3), ln5, ln5).
const double l2 = std::log(2.0), l3 = std::log(3.0), l5 = std::log(5.0), l6 = std::log(6.0);
const std::vector<int64_t> labels{2, 0};
Tensor logits() { return Tensor::from_vector<double>({0, l2, l3, l3, 0, 0}, {2, 3}).requires_grad_(); }
Tensor weights() { return Tensor::from_vector<double>({1, 2, 3}, {3}); }
}  // namespace

TEST_CASE("cross_entropy: plain, the three reductions and the gradient (p - onehot) / N") {
  Tensor z = logits();
  check_values(nn::cross_entropy(z, labels, {}, 0.0, nn::Reduction::none), {l2, l5 - l3});
  check_values(nn::cross_entropy(z, labels, {}, 0.0, nn::Reduction::sum), {l2 + l5 - l3});
  Tensor loss = nn::cross_entropy(z, labels);
  CHECK(loss.shape() == Shape{});
  check_values(loss, {(l2 + l5 - l3) / 2});
  loss.backward();
  check_values(z.grad(), {1.0 / 12, 1.0 / 6, -0.25, -0.2, 0.1, 0.1});
}

TEST_CASE("cross_entropy: class weights scale each row by w[y]; mean divides by sum w[y]") {
  Tensor z = logits();
  check_values(nn::cross_entropy(z, labels, weights(), 0.0, nn::Reduction::none), {3 * l2, l5 - l3});
  check_values(nn::cross_entropy(z, labels, weights(), 0.0, nn::Reduction::sum), {3 * l2 + l5 - l3});
  Tensor loss = nn::cross_entropy(z, labels, weights());
  check_values(loss, {(3 * l2 + l5 - l3) / 4});
  loss.backward();
  // w[y] (p - onehot) / 4
  check_values(z.grad(), {3.0 / 24, 3.0 / 12, -3.0 / 8, -0.1, 0.05, 0.05});
}

TEST_CASE("cross_entropy: label smoothing with weights, every reduction, per-row gradients") {
  // eps 0.3, K 3: loss_i = 0.7 w[y] (-log p_y) + 0.1 sum_k w[k] (-log p_k)
  const double row0 = 0.7 * 3 * l2 + 0.1 * (l6 + 2 * l3 + 3 * l2);
  const double row1 = 0.7 * 1 * (l5 - l3) + 0.1 * ((l5 - l3) + 2 * l5 + 3 * l5);
  Tensor z = logits();
  check_values(nn::cross_entropy(z, labels, weights(), 0.3, nn::Reduction::sum), {row0 + row1});
  check_values(nn::cross_entropy(z, labels, weights(), 0.3, nn::Reduction::mean), {(row0 + row1) / 4});
  Tensor rows = nn::cross_entropy(z, labels, weights(), 0.3, nn::Reduction::none);
  check_values(rows, {row0, row1});
  // dz = p Q - q: row 0 q = (0.1, 0.2, 0.3 + 2.1), Q = 2.7; row 1 q = (0.1 + 0.7, 0.2, 0.3), Q = 1.3.
  rows.backward(Tensor::from_vector<double>({1, 2}, {2}));
  check_values(z.grad(), {0.35, 0.7, -1.05, 2 * -0.02, 2 * 0.06, 2 * -0.04});
}

TEST_CASE("cross_entropy: smoothing without weights; huge logits stay finite") {
  // eps 0.3, row 0 only: 0.7 ln2 + 0.1 (ln6 + ln3 + ln2)
  Tensor z = Tensor::from_vector<double>({0, l2, l3}, {1, 3});
  check_values(nn::cross_entropy(z, {2}, {}, 0.3), {0.7 * l2 + 0.1 * (l6 + l3 + l2)});
  Tensor big = Tensor::from_vector<float>({1000, 0, -1000}, {1, 3}).requires_grad_();
  Tensor loss = nn::cross_entropy(big, {1});
  check_values(loss, {1000}, 1e-6);
  loss.backward();
  check_values(big.grad(), {1, -1, 0});
}

TEST_CASE("cross_entropy: bad arguments are errors that name the problem") {
  Tensor z = logits();
  CHECK_THROWS_WITH_AS(nn::cross_entropy(z, {2, 3}), doctest::Contains("label 3 at index 1"), Error);
  CHECK_THROWS_AS(nn::cross_entropy(z, {2, -1}), Error);
  CHECK_THROWS_AS(nn::cross_entropy(z, {2}), Error);
  CHECK_THROWS_AS(nn::cross_entropy(z, labels, Tensor::ones({2}, DType::f64)), Error);
  CHECK_THROWS_AS(nn::cross_entropy(z, labels, Tensor::ones({3})), Error);  // float32 weights, float64 logits
  CHECK_THROWS_AS(nn::cross_entropy(z, labels, {}, 1.0), Error);
  CHECK_THROWS_AS(nn::cross_entropy(Tensor::ones({2, 3, 1}), labels), Error);
}
