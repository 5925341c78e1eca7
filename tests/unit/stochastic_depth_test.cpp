#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/autograd.h"

using namespace hemo;

TEST_CASE("StochasticDepth: whole samples dropped or scaled by 1/(1-p), reproducibly; the identity in eval mode") {
  const int64_t n = 64, c = 3, hw = 4;
  std::vector<float> v(static_cast<size_t>(n * c * hw));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f + static_cast<float>(i % 7);
  Tensor x = Tensor::from_vector<float>(v, {n, c, 2, 2}).requires_grad_();
  Generator gen(42);
  nn::StochasticDepth sd(0.25, gen);
  sd.train();
  Tensor y = sd(x);
  const std::vector<float> out = y.to_vector<float>();
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    CAPTURE(i);
    const float f = out[static_cast<size_t>(i * c * hw)] / v[static_cast<size_t>(i * c * hw)];
    CHECK((f == 0.f || f == doctest::Approx(1 / 0.75)));
    dropped += f == 0.f;
    for (int64_t j = 0; j < c * hw; ++j)  // the same factor over the whole sample
      CHECK(out[static_cast<size_t>(i * c * hw + j)] == doctest::Approx(f * v[static_cast<size_t>(i * c * hw + j)]));
  }
  CHECK(dropped > 4);  // 16 expected of 64; a mask that never drops (or always does) fails
  CHECK(dropped < 32);
  // The gradient is the same factor per sample.
  y.backward(Tensor::ones({n, c, 2, 2}));
  const std::vector<float> g = x.grad().to_vector<float>();
  for (int64_t i = 0; i < n; ++i)
    CHECK(g[static_cast<size_t>(i * c * hw)] == doctest::Approx(out[static_cast<size_t>(i * c * hw)] /
                                                                 v[static_cast<size_t>(i * c * hw)]));
  // The same generator state gives the same mask; the next call another.
  Generator again(42);
  nn::StochasticDepth sd2(0.25, again);
  sd2.train();
  NoGradGuard no_grad;
  CHECK(sd2(x.detach()).to_vector<float>() == out);
  CHECK(sd2(x.detach()).to_vector<float>() != out);
  // Eval mode, or p = 0: the input itself.
  sd.eval();
  CHECK(sd(x.detach()).to_vector<float>() == v);
  nn::StochasticDepth off(0.0, gen);
  off.train();
  CHECK(off(x.detach()).to_vector<float>() == v);
  CHECK_THROWS_WITH(nn::StochasticDepth(1.5), doctest::Contains("p must lie in [0, 1]"));
}

TEST_CASE("trunc_normal_: values inside the bounds, with the truncated normal's spread") {
  Generator gen(3);
  Tensor t = Tensor::empty({20000});
  nn::trunc_normal_(t, gen, 0, 1, -1, 2);
  double sum = 0, lo = 1e9, hi = -1e9;
  for (float v : t.to_vector<float>()) {
    sum += v;
    lo = std::min<double>(lo, v);
    hi = std::max<double>(hi, v);
  }
  CHECK(lo >= -1);
  CHECK(hi <= 2);
  CHECK(lo < -0.99);  // both bounds are reached: nothing is clipped to them, nor cut short
  CHECK(hi > 1.95);
  // Mean of N(0, 1) truncated to [-1, 2]: (phi(-1) - phi(2)) / (Phi(2) - Phi(-1)) = 0.2296.
  CHECK(sum / 20000 == doctest::Approx(0.2296).epsilon(0.05));
  CHECK_THROWS_WITH(nn::trunc_normal_(t, gen, 0, 1, 2, -1), doctest::Contains("a < b"));
}
