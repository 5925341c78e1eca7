// Channels-last storage (tensor/tensor.h, MemoryFormat): the conversions, the guard that keeps
// NCHW-only code from reading NHWC data, and every op case with its 4-d inputs stored
// channels-last against the same case on contiguous inputs (tests/support/channels_last.h), in
// float64 so that any layout mistake stands far above the rounding.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/ops_activation.h"
#include "models/registry.h"
#include "nn/ops_conv.h"
#include "nn/ops_loss.h"
#include "tests/support/compare.h"
#include "tests/support/channels_last.h"
#include "tests/support/channels_last_model.h"
#include "tests/support/random.h"

using namespace hemo;

TEST_CASE("channels_last: storage order, round trip, guard, views and copies") {
  const Tensor x = test::random_tensor({2, 3, 4, 5}, 7);
  const Tensor xl = x.to(MemoryFormat::channels_last);
  CHECK(xl.is_channels_last());
  CHECK(xl.shape() == x.shape());
  CHECK(xl.str() == "float64[2, 3, 4, 5] channels_last on cpu");
  // element (n, c, h, w) at ((n H + h) W + w) C + c
  const std::vector<double> v = x.to_vector<double>();
  const double* s = xl.data_any_format<double>();
  double worst = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 5; ++w)
          worst = std::max(worst, std::abs(s[((n * 4 + h) * 5 + w) * 3 + c] - v[((n * 3 + c) * 4 + h) * 5 + w]));
  CHECK(worst == 0);
  CHECK(xl.to_vector<double>() == v);  // logical order
  CHECK(xl.contiguous().to_vector<double>() == v);
  CHECK(!xl.contiguous().is_channels_last());
  CHECK(xl.to(MemoryFormat::channels_last).same(xl));  // no copy when already there
  CHECK(x.contiguous().same(x));
  CHECK_THROWS_WITH_AS(xl.data<double>(), doctest::Contains("must call contiguous() first"), Error);
  CHECK(xl.clone().is_channels_last());
  CHECK(xl.clone().to_vector<double>() == v);
  CHECK(xl.to(DType::f32).is_channels_last());
  CHECK(xl.detach().is_channels_last());
  CHECK(Tensor::empty_like(xl).is_channels_last());
  CHECK(Tensor::zeros_like(xl).is_channels_last());
  CHECK(!xl.flatten(1).is_channels_last());
  CHECK(xl.flatten(1).to_vector<double>() == v);  // a view of the logical order
  CHECK_THROWS_WITH_AS(Tensor::empty({2, 3}, DType::f32, Device::cpu(), MemoryFormat::channels_last),
                       doctest::Contains("channels_last needs a 4-d"), Error);
  CHECK_THROWS_WITH_AS(Tensor::zeros({2, 3}).to(MemoryFormat::channels_last),
                       doctest::Contains("to(channels_last) needs a 4-d [N, C, H, W] tensor, got float32[2, 3]"), Error);
  CHECK(Tensor::zeros({2, 3}).contiguous().shape() == Shape({2, 3}));
  // bfloat16 moves as 2-byte elements
  const Tensor b = x.to(DType::f32).to(DType::bf16);
  CHECK(b.to(MemoryFormat::channels_last).contiguous().to(DType::f32).to_vector<float>() ==
        b.to(DType::f32).to_vector<float>());
}

TEST_CASE("channels_last: gradients arrive in each tensor's own format") {
  Tensor x = test::random_tensor({2, 3, 4, 5}, 8).requires_grad_(true);
  Tensor xl = x.to(MemoryFormat::channels_last);
  Tensor y = nn::activation(Activation::relu6, xl);  // elementwise: keeps the format
  CHECK(y.is_channels_last());
  Tensor gy = test::random_tensor({2, 3, 4, 5}, 9);       // a contiguous seed for a channels-last output
  y.backward(gy);
  REQUIRE(x.grad().defined());
  CHECK(!x.grad().is_channels_last());
  const std::vector<double> g = x.grad().to_vector<double>(), xv = x.to_vector<double>(), gv = gy.to_vector<double>();
  size_t wrong = 0;
  for (size_t i = 0; i < g.size(); ++i) wrong += g[i] != ((xv[i] > 0 && xv[i] < 6) ? gv[i] : 0.0);
  CHECK(wrong == 0);
}

TEST_CASE("opcases channels_last: every case with a 4-d input, channels-last against contiguous (float64)") {
  size_t ran = 0;
  test::for_each_case(opcases::Check::unit, [&](const opcases::OpCase& c) {
    test::Worst worst{opcases::Check::unit, c.name + " channels_last"};
    for (size_t i = 0; i < c.samples.size(); ++i) {
      if (!test::has_4d_input(c.samples[i])) continue;
      test::check_channels_last_sample(c, c.samples[i], test::sample_label(c, i, c.samples[i]), Device::cpu(),
                                       DType::f64, 1e-10, worst);
      ++worst.samples;
    }
    if (worst.samples == 0) return;
    ++ran;
    worst.print();
  });
  if (!std::getenv("HEMO_OPCASE")) CHECK(ran > 100);
}

TEST_CASE("channels_last: ResNet-18 and MobileNetV2 train in channels-last with no copy inside the model") {
  test::check_model_channels_last("resnet18", 64, Device::cpu(), true);
  test::check_model_channels_last("mobilenet_v2", 64, Device::cpu(), true);
}
