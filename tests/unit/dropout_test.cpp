#include <doctest/doctest.h>

#include <cmath>

#include "kernels/dropout.h"
#include "nn/ops_dropout.h"
#include "tests/support/expect.h"

using namespace hemo;

TEST_CASE("dropout: the mask is tensor/rng's Philox stream, word i % 4 of block i / 4") {
  // 1001 elements: not a multiple of 4, so the last block is used in part.
  const int64_t n = 1001;
  const double p = 0.3;
  Generator g(42, 3);
  Tensor x = Tensor::ones({n}).requires_grad_();
  Tensor y = nn::dropout(x, p, true, g);
  CHECK(g.state().offset == (n + 3) / 4);  // the blocks were reserved
  const std::vector<float> yv = y.to_vector<float>();
  const float kept = static_cast<float>(1.0 / (1.0 - p));
  int64_t mismatches = 0, kept_count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto words = philox4x32(42, static_cast<uint64_t>(i / 4), 3);
    const bool keep = uniform01(words[static_cast<size_t>(i % 4)]) >= static_cast<float>(p);
    mismatches += yv[static_cast<size_t>(i)] != (keep ? kept : 0.0f);
    kept_count += keep;
  }
  CHECK(mismatches == 0);
  CHECK(kept_count > 0);
  CHECK(kept_count < n);

  // Backward: gy * mask / (1 - p), with the forward's mask.
  std::vector<float> gv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) gv[static_cast<size_t>(i)] = static_cast<float>(i % 7) - 3.0f;
  y.backward(Tensor::from_vector(gv, {n}));
  const std::vector<float> gx = x.grad().to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    mismatches += gx[k] != (yv[k] != 0 ? gv[k] * kept : 0.0f);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("dropout: reproducible from the generator state; successive calls draw new masks") {
  Tensor x = Tensor::ones({3, 5, 7, 13});
  Generator g(5);
  const Generator::State st = g.state();
  const std::vector<float> a = nn::dropout(x, 0.5, true, g).to_vector<float>();
  const std::vector<float> b = nn::dropout(x, 0.5, true, g).to_vector<float>();
  CHECK(a != b);
  g.set_state(st);
  CHECK(nn::dropout(x, 0.5, true, g).to_vector<float>() == a);
}

TEST_CASE("dropout: the keep rate is 1 - p and the mean is preserved") {
  const int64_t n = 200000;
  Tensor x = Tensor::ones({n});
  Generator g(11);
  for (double p : {0.1, 0.5, 0.9}) {
    CAPTURE(p);
    const std::vector<float> y = nn::dropout(x, p, true, g).to_vector<float>();
    double kept = 0, sum = 0;
    for (float v : y) {
      kept += v != 0;
      sum += v;
    }
    const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(n));
    CHECK(std::fabs(kept / static_cast<double>(n) - (1 - p)) < 5 * sigma);
    CHECK(std::fabs(sum / static_cast<double>(n) - 1.0) < 5 * sigma / (1 - p));
  }
}

TEST_CASE("dropout: eval and p = 0 are the identity; p = 1 drops everything; bad p is an error") {
  Tensor x = Tensor::from_vector<float>({1, -2, 3, 4, 5}, {5}).requires_grad_();
  Generator g(1);
  CHECK(nn::dropout(x, 0.5, false, g).same(x));
  CHECK(nn::dropout(x, 0.0, true, g).same(x));
  CHECK(g.state().offset == 0);  // not advanced
  Tensor y = nn::dropout(x, 1.0, true, g);
  test::check_values(y, {0, 0, 0, 0, 0});
  y.backward(Tensor::ones({5}));
  test::check_values(x.grad(), {0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(nn::dropout(x, 1.5, true, g), doctest::Contains("dropout: probability"), Error);
  CHECK_THROWS_AS(nn::dropout(x, -0.1, true, g), Error);
}
