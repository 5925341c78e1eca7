// nn::Conv2d and nn::Linear as torch.nn builds them: parameter names and shapes, and the default
// initialization (weight kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)), bias U(+-1/sqrt(fan_in))).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nn/layers.h"

using namespace hemo;

namespace {
// Every value inside +-bound, and spread over most of it (a zero or constant init fails).
void check_uniform(const Tensor& t, double bound, const std::string& what) {
  CAPTURE(what);
  const std::vector<float> v = t.to_vector<float>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  CHECK(*lo >= -bound);
  CHECK(*hi <= bound);
  if (v.size() >= 100) {  // P(max < 0.8 bound) = 0.9^n: negligible at this size
    CHECK(*lo < -0.8 * bound);
    CHECK(*hi > 0.8 * bound);
  } else {
    CHECK(*hi > *lo);
  }
}

std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.first);
  return out;
}
}  // namespace

TEST_CASE("nn::Conv2d: torch's parameter shapes and default initialization bounds") {
  Generator gen(3);
  nn::Conv2d conv(3, 8, {.kernel = {3, 3}, .padding = {1, 1}}, gen);
  CHECK(names(conv) == std::vector<std::string>{"weight", "bias"});
  CHECK(conv.weight.shape() == Shape{8, 3, 3, 3});
  CHECK(conv.bias.shape() == Shape{8});
  check_uniform(conv.weight, 1 / std::sqrt(27.0), "weight");
  check_uniform(conv.bias, 1 / std::sqrt(27.0), "bias");
  CHECK(conv.forward(Tensor::ones({3, 3, 7, 13})).shape() == Shape{3, 8, 7, 13});

  nn::Conv2d grouped(4, 6, {.kernel = {3, 5}, .stride = {2, 2}, .groups = 2, .bias = false}, gen);
  CHECK(names(grouped) == std::vector<std::string>{"weight"});
  CHECK(grouped.weight.shape() == Shape{6, 2, 3, 5});
  check_uniform(grouped.weight, 1 / std::sqrt(30.0), "grouped weight");
  CHECK(grouped.forward(Tensor::ones({2, 4, 7, 13})).shape() == Shape{2, 6, 3, 5});

  nn::Conv2d depthwise(10, 10, {.kernel = {5, 5}, .padding = {2, 2}, .groups = 10}, gen);
  CHECK(depthwise.weight.shape() == Shape{10, 1, 5, 5});
  check_uniform(depthwise.weight, 1 / 5.0, "depthwise weight");
}

TEST_CASE("nn::Linear: torch's parameter shapes and default initialization bounds") {
  Generator gen(4);
  nn::Linear fc(13, 10, true, gen);
  CHECK(names(fc) == std::vector<std::string>{"weight", "bias"});
  CHECK(fc.weight.shape() == Shape{10, 13});
  CHECK(fc.bias.shape() == Shape{10});
  check_uniform(fc.weight, 1 / std::sqrt(13.0), "weight");
  check_uniform(fc.bias, 1 / std::sqrt(13.0), "bias");
  CHECK(fc.forward(Tensor::ones({3, 13})).shape() == Shape{3, 10});
  nn::Linear no_bias(256, 128, false, gen);
  CHECK(names(no_bias) == std::vector<std::string>{"weight"});
  check_uniform(no_bias.weight, 1 / 16.0, "no-bias weight");
}
