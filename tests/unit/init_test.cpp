#include <doctest/doctest.h>

#include <cmath>

#include "nn/init.h"

using namespace hemo;

namespace {
struct Moments {
  double mean = 0, stddev = 0, kurtosis = 0, min = INFINITY, max = -INFINITY;
  double within_1sd = 0;  // fraction of values within one standard deviation of the mean
};

Moments moments(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  const double n = static_cast<double>(v.size());
  Moments m;
  for (double x : v) {
    m.mean += x / n;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  double m2 = 0, m4 = 0;
  for (double x : v) {
    const double d = x - m.mean;
    m2 += d * d / n;
    m4 += d * d * d * d / n;
  }
  m.stddev = std::sqrt(m2);
  m.kurtosis = m4 / (m2 * m2);
  for (double x : v) m.within_1sd += (std::fabs(x - m.mean) <= m.stddev) / n;
  return m;
}

// Relative error: doctest's Approx adds an absolute term of its epsilon, far too loose for
// standard deviations of 0.03.
double rel(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

// 147456 values: sampling errors are ~0.3% of the standard deviation; the bounds below are ~5 sigma.
const Shape kConv{256, 64, 3, 3};
const double kN = 256.0 * 64 * 9;
}  // namespace

TEST_CASE("init: fans and gains follow torch.nn.init") {
  CHECK(nn::fan_in_fan_out({64, 3, 7, 7}) == std::pair<int64_t, int64_t>{147, 3136});
  CHECK(nn::fan_in_fan_out({32, 1, 3, 3}) == std::pair<int64_t, int64_t>{9, 288});  // depthwise
  CHECK(nn::fan_in_fan_out({10, 512}) == std::pair<int64_t, int64_t>{512, 10});
  CHECK_THROWS_WITH_AS(nn::fan_in_fan_out({5}), doctest::Contains("at least 2 dimensions"), Error);
  CHECK(nn::calculate_gain(nn::Nonlinearity::linear) == 1.0);
  CHECK(nn::calculate_gain(nn::Nonlinearity::relu) == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::calculate_gain(nn::Nonlinearity::leaky_relu) == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::calculate_gain(nn::Nonlinearity::leaky_relu, std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3)));
  CHECK(nn::calculate_gain(nn::Nonlinearity::leaky_relu, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
}

TEST_CASE("init: kaiming_uniform_ (torch's Conv2d default, a = sqrt(5)) is U(+-1/sqrt(fan_in))") {
  Tensor w = Tensor::empty(kConv);
  Generator g(7);
  nn::kaiming_uniform_(w, g, std::sqrt(5.0));
  const double b = 1.0 / 24;  // gain sqrt(1/3) * sqrt(3 / 576)
  Moments m = moments(w);
  CHECK(m.min >= -b);
  CHECK(m.max <= b);
  CHECK(m.min < -0.999 * b);
  CHECK(m.max > 0.999 * b);
  CHECK(std::fabs(m.mean) < 5 * (b / std::sqrt(3.0)) / std::sqrt(kN));
  CHECK(rel(m.stddev, b / std::sqrt(3.0)) < 0.01);
  CHECK(rel(m.kurtosis, 1.8) < 0.02);  // a uniform's, not a normal's 3

  // fan_out with relu: bound sqrt(2) sqrt(3 / (256 * 9)).
  nn::kaiming_uniform_(w, g, 0, nn::FanMode::fan_out, nn::Nonlinearity::relu);
  m = moments(w);
  const double b2 = std::sqrt(2.0) * std::sqrt(3.0 / (256 * 9));
  CHECK(m.max <= b2);
  CHECK(m.max > 0.999 * b2);
  CHECK(rel(m.stddev, b2 / std::sqrt(3.0)) < 0.01);
}

TEST_CASE("init: kaiming_normal_ (torchvision's fan_out, relu) is N(0, sqrt(2 / fan_out))") {
  Tensor w = Tensor::empty(kConv, DType::f64);
  Generator g(8);
  nn::kaiming_normal_(w, g, 0, nn::FanMode::fan_out, nn::Nonlinearity::relu);
  const double sd = std::sqrt(2.0 / (256 * 9));
  Moments m = moments(w);
  CHECK(std::fabs(m.mean) < 5 * sd / std::sqrt(kN));
  CHECK(rel(m.stddev, sd) < 0.01);
  CHECK(rel(m.kurtosis, 3.0) < 0.025);
  CHECK(rel(m.within_1sd, 0.6827) < 0.01);
  nn::kaiming_normal_(w, g);  // fan_in, leaky_relu(0): sqrt(2 / 576)
  CHECK(rel(moments(w).stddev, std::sqrt(2.0 / 576)) < 0.01);
}

TEST_CASE("init: uniform_, normal_, constant_") {
  Tensor w = Tensor::empty({1000, 150});
  Generator g(9);
  nn::uniform_(w, g, -0.2, 0.7);
  Moments m = moments(w);
  CHECK(m.min >= -0.2);
  CHECK(m.max <= 0.7);
  CHECK(std::fabs(m.mean - 0.25) < 5 * (0.9 / std::sqrt(12.0)) / std::sqrt(150000.0));
  CHECK(rel(m.stddev, 0.9 / std::sqrt(12.0)) < 0.01);
  nn::normal_(w, g, 0.3, 0.01);  // torchvision's classifier init is normal_(0, 0.01)
  m = moments(w);
  CHECK(std::fabs(m.mean - 0.3) < 5 * 0.01 / std::sqrt(150000.0));
  CHECK(rel(m.stddev, 0.01) < 0.01);
  nn::constant_(w, -1.25);
  m = moments(w);
  CHECK(m.min == -1.25);
  CHECK(m.max == -1.25);
  CHECK_THROWS_AS(nn::uniform_(w, g, 1, 0), Error);
  CHECK_THROWS_AS(nn::normal_(w, g, 0, -1), Error);
}

TEST_CASE("init: reproducible from the seed; different seeds and successive draws differ") {
  auto draw = [](uint64_t seed) {
    Tensor w = Tensor::empty({64, 32, 3, 3});
    Generator g(seed);
    nn::kaiming_normal_(w, g);
    return w.to_vector<float>();
  };
  const std::vector<float> a = draw(1), b = draw(1), c = draw(2);
  CHECK(a == b);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == c[i];
  CHECK(same < 10);

  Generator g(1);
  Tensor w1 = Tensor::empty({64, 32, 3, 3}), w2 = Tensor::empty({64, 32, 3, 3});
  nn::kaiming_normal_(w1, g);
  nn::kaiming_normal_(w2, g);
  CHECK(w1.to_vector<float>() == a);
  CHECK(w2.to_vector<float>() != a);

  // Initializing leaves history alone: a parameter that requires grad stays a leaf.
  Tensor p = Tensor::empty({4, 4}).requires_grad_();
  nn::kaiming_uniform_(p, g);
  CHECK(p.is_leaf());
  Tensor empty = Tensor::empty({0, 3});
  nn::kaiming_uniform_(empty, g);  // no fan to divide by: a no-op, as torch
}
