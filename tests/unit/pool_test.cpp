#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "tensor/rng.h"

#include "nn/ops_pool.h"

using namespace hemo;
using V = std::vector<float>;

TEST_CASE("max_pool2d: 4x4, kernel 2, stride 2: values, argmax (first max wins) and backward") {
  // Ties: 6 at flat 6 and 7, 8 at flat 12 and 13; the first of each wins.
  Tensor x = Tensor::from_vector<float>({1, 3, 2, 0.5f,  //
                                         4, -1, 6, 6,    //
                                         0.25f, 2, 5, 7, //
                                         8, 8, 1, 3},
                                        {1, 1, 4, 4})
                 .requires_grad_();
  Tensor y = nn::max_pool2d(x, {2, 2}, {2, 2});
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector<float>() == V{4, 6, 8, 7});

  std::vector<int64_t> argmax(4);
  std::vector<float> yv(4);
  Pool2dShape s{1, 1, 4, 4, 2, 2, 2, 2, 0, 0, false};
  cpu::max_pool2d_fwd<float>(cpu::backend, s, x.data<float>(), yv.data(), argmax.data());
  CHECK(argmax == std::vector<int64_t>{4, 6, 12, 11});

  y.backward(Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}));
  CHECK(x.grad().to_vector<float>() == V{0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 4, 3, 0, 0, 0});
}

TEST_CASE("max_pool2d: overlapping windows with padding accumulate into the gradient") {
  // x[r][c] = 4r + c + 1 grows to the bottom right, so window (i, j) of a 3x3, stride 1, pad 1
  // pool picks x[min(i+1, 3)][min(j+1, 3)].
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  Tensor x = Tensor::from_vector(v, {1, 1, 4, 4}).requires_grad_();
  Tensor y = nn::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
  CHECK(y.to_vector<float>() == V{6, 7, 8, 8, 10, 11, 12, 12, 14, 15, 16, 16, 14, 15, 16, 16});
  y.backward(Tensor::ones({1, 1, 4, 4}));
  CHECK(x.grad().to_vector<float>() == V{0, 0, 0, 0, 0, 1, 1, 2, 0, 1, 1, 2, 0, 2, 2, 4});
}

TEST_CASE("pooling: output sizes follow PyTorch, ceil mode included") {
  CHECK(pool_output_size(7, 2, 2, 0, false) == 3);
  CHECK(pool_output_size(7, 2, 2, 0, true) == 4);
  CHECK(pool_output_size(6, 3, 3, 1, false) == 2);
  CHECK(pool_output_size(6, 3, 3, 1, true) == 3);
  // ceil mode would give 4, but the 4th window would start in the right padding: dropped.
  CHECK(pool_output_size(5, 2, 2, 1, true) == 3);
  CHECK(pool_output_size(13, 3, 2, 1, true) == 7);
  CHECK(pool_output_size(100, 2, 2, 0, false) == 50);

  Tensor x = Tensor::ones({3, 5, 7, 13});
  CHECK(nn::max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true).shape() == Shape{3, 5, 4, 7});
  CHECK(nn::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false).shape() == Shape{3, 5, 4, 7});
  CHECK_THROWS_AS(nn::max_pool2d(x, {3, 3}, {1, 1}, {2, 2}), Error);  // pad > kernel / 2
  CHECK_THROWS_AS(nn::avg_pool2d(x, {0, 2}, {1, 1}), Error);
  CHECK_THROWS_AS(nn::max_pool2d(x, {8, 2}, {1, 1}), Error);  // kernel taller than the input
  CHECK_THROWS_AS(nn::max_pool2d(Tensor::ones({7, 13}), {2, 2}, {2, 2}), Error);
}

TEST_CASE("avg_pool2d: divisors with and without padding, ceil-mode windows past the input") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  // kernel 2, stride 2, pad 1: windows hold 1, 2+3, 4+7 and 5+6+8+9 input elements.
  CHECK(nn::avg_pool2d(x, {2, 2}, {2, 2}, {1, 1}, false, true).to_vector<float>() == V{0.25f, 1.25f, 2.75f, 7});
  CHECK(nn::avg_pool2d(x, {2, 2}, {2, 2}, {1, 1}, false, false).to_vector<float>() == V{1, 2.5f, 5.5f, 7});
  // ceil mode, no padding: the last windows run past the input and are clipped for both rules.
  for (bool include : {true, false})
    CHECK(nn::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, true, include).to_vector<float>() == V{3, 4.5f, 7.5f, 9});

  Tensor xg = x.detach().clone().requires_grad_();
  nn::avg_pool2d(xg, {2, 2}, {2, 2}, {1, 1}, false, true).backward(Tensor::ones({1, 1, 2, 2}));
  CHECK(xg.grad().to_vector<float>() == V(9, 0.25f));
  Tensor xe = x.detach().clone().requires_grad_();
  nn::avg_pool2d(xe, {2, 2}, {2, 2}, {1, 1}, false, false).backward(Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}));
  CHECK(xe.grad().to_vector<float>() == V{1, 1, 1, 1.5f, 1, 1, 1.5f, 1, 1});
}

TEST_CASE("adaptive_avg_pool2d: 7 -> 3 with overlapping windows, every plane separately") {
  // Rows [0, 3), [2, 5), [4, 7); plane k holds 1..7 + 10k.
  std::vector<float> v;
  for (int k = 0; k < 6; ++k)
    for (int i = 1; i <= 7; ++i) v.push_back(static_cast<float>(i + 10 * k));
  Tensor x = Tensor::from_vector(v, {2, 3, 7, 1}).requires_grad_();
  Tensor y = nn::adaptive_avg_pool2d(x, {3, 1});
  CHECK(y.shape() == Shape{2, 3, 3, 1});
  auto yv = y.to_vector<float>();
  for (int k = 0; k < 6; ++k) {
    CHECK(yv[static_cast<size_t>(3 * k)] == doctest::Approx(2 + 10 * k));
    CHECK(yv[static_cast<size_t>(3 * k + 1)] == doctest::Approx(4 + 10 * k));
    CHECK(yv[static_cast<size_t>(3 * k + 2)] == doctest::Approx(6 + 10 * k));
  }
  y.backward(Tensor::ones({2, 3, 3, 1}));
  auto g = x.grad().to_vector<float>();
  const float t = 1.0f / 3;
  for (int k = 0; k < 6; ++k)
    for (int i = 0; i < 7; ++i) CHECK(g[static_cast<size_t>(7 * k + i)] == doctest::Approx((i == 2 || i == 4) ? 2 * t : t));

  // Global pooling of a 7x13 plane is its mean.
  Tensor z = Tensor::full({1, 1, 7, 13}, 0.5);
  CHECK(nn::adaptive_avg_pool2d(z, {1, 1}).item() == doctest::Approx(0.5));
}

// The kernel runs the windows inside the width as vectors and the clipped ones at the ends as
// scalars; both must keep PyTorch's rules: the first maximum wins a tie, a NaN in a window is
// its maximum (the last NaN, as `v > best || isnan(v)` gives) and -inf is a value like any other.
TEST_CASE("max_pool2d: ties, NaN and -inf, inside and at the edges, against a direct reference") {
  struct Cfg {
    int64_t kh, kw, sh, sw, ph, pw;
    bool ceil;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Generator g(3, 1);
  for (const Cfg c : {Cfg{3, 3, 2, 2, 1, 1, false}, Cfg{2, 2, 2, 2, 0, 0, true}, Cfg{3, 3, 1, 1, 1, 1, false},
                      Cfg{3, 2, 1, 2, 1, 1, true}, Cfg{5, 5, 3, 3, 2, 2, true}}) {
    const Pool2dShape s{2, 3, 9, 13, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, c.ceil};
    std::vector<float> x(static_cast<size_t>(2 * 3 * 9 * 13));
    for (float& v : x) {  // few distinct values (ties), some NaN and -inf
      const double u = g.uniform();
      v = u < 0.05 ? nan : u < 0.1 ? -inf : static_cast<float>(std::floor(g.uniform() * 4));
    }
    const int64_t P = s.p(), Q = s.q(), planes = 6;
    std::vector<float> y(static_cast<size_t>(planes * P * Q));
    std::vector<int64_t> at(y.size());
    cpu::max_pool2d_fwd<float>(cpu::backend, s, x.data(), y.data(), at.data());
    int64_t bad = 0;
    std::string first;
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < P; ++i)
        for (int64_t j = 0; j < Q; ++j) {
          float best = -inf;
          int64_t where = -1;
          for (int64_t ih = i * c.sh - c.ph; ih < i * c.sh - c.ph + c.kh; ++ih)
            for (int64_t iw = j * c.sw - c.pw; iw < j * c.sw - c.pw + c.kw; ++iw) {
              if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
              const float v = x[static_cast<size_t>(pl * s.h * s.w + ih * s.w + iw)];
              if (where < 0 || v > best || std::isnan(v)) {
                best = v;
                where = ih * s.w + iw;
              }
            }
          const size_t o = static_cast<size_t>(pl * P * Q + i * Q + j);
          const bool same = (y[o] == best || (std::isnan(y[o]) && std::isnan(best))) && at[o] == where;
          if (!same && bad++ == 0) first = cat("plane ", pl, " (", i, ", ", j, "): ", y[o], " at ", at[o], ", want ",
                                                best, " at ", where);
        }
    CAPTURE(c.kh);
    CAPTURE(c.sw);
    CHECK_MESSAGE(bad == 0, bad, " wrong outputs; first: ", first);
    std::vector<float> y2(y.size());
    cpu::max_pool2d_fwd<float>(cpu::backend, s, x.data(), y2.data(), nullptr);  // no argmax wanted
    bool equal = true;
    for (size_t o = 0; o < y.size(); ++o) equal = equal && (y2[o] == y[o] || (std::isnan(y2[o]) && std::isnan(y[o])));
    CHECK(equal);
  }
}
