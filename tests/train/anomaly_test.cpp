// train/anomaly.h: all_finite on random data with one bad element at a random place, the first
// parameter with a non-finite gradient, and AnomalyDetector's forward and backward findings on
// small models whose bad layer is known.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "nn/layers.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_reduce.h"
#include "tensor/autograd.h"
#include "train/anomaly.h"

using namespace hemo;
using namespace hemo::train;

namespace {

Tensor random_tensor(const Shape& shape, std::mt19937& rng) {
  std::normal_distribution<float> d(0.f, 1.f);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng) + 0.1f;
  return Tensor::from_vector(v, shape);
}

// Identity forward; its backward multiplies the gradient by infinity: finite forward, the first
// non-finite value arises in backward.
class InfBackward : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override {
    Tensor y = nn::scale(x, 1.0);
    Tensor out = y.detach();
    record(out, "inf_backward", {x}, [](const Tensor& g) {
      return std::vector<Tensor>{nn::scale(g, std::numeric_limits<double>::infinity())};
    });
    return out;
  }
  std::string type_name() const override { return "InfBackward"; }
};

}  // namespace

TEST_CASE("all_finite: finds one NaN, +inf or -inf anywhere; large finite values whose sum overflows are finite") {
  std::mt19937 rng(7);
  for (const float bad : {std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    Tensor t = random_tensor({3, 5, 7}, rng);
    CHECK(all_finite(t));
    std::vector<float> v = t.to_vector<float>();
    const size_t at = std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng);
    v[at] = bad;
    CAPTURE(at);
    CHECK_FALSE(all_finite(Tensor::from_vector(v, {3, 5, 7})));
  }
  CHECK(all_finite(Tensor::full({1000}, 3e38)));  // the sum overflows; each value is finite
}

TEST_CASE("first_nonfinite_grad names the first parameter, in order, whose gradient is bad") {
  std::mt19937 rng(3);
  Tensor a = random_tensor({4}, rng), b = random_tensor({2, 2}, rng), c = random_tensor({3}, rng);
  for (Tensor* t : {&a, &b, &c}) t->requires_grad_();
  a.set_grad(random_tensor({4}, rng));
  b.set_grad(Tensor::full({2, 2}, std::nan("")));
  c.set_grad(Tensor::full({3}, std::numeric_limits<double>::infinity()));
  CHECK(first_nonfinite_grad({{"a", a}, {"b", b}, {"c", c}}) == "b");
  CHECK(first_nonfinite_grad({{"a", a}}) == "");
}

TEST_CASE("AnomalyDetector: the layer whose forward output first turns non-finite") {
  Generator gen(11, 0);
  auto model = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Linear>(6, 5, true, gen), nn::make<nn::Act>(Activation::relu), nn::make<nn::Linear>(5, 4, true, gen),
      nn::make<nn::Linear>(4, 3, true, gen)});
  std::mt19937 rng(5);
  const Tensor x = random_tensor({2, 6}, rng);
  AnomalyDetector detector(*model);
  {
    const AnomalyDetector::Watch watch(detector);
    nn::sum((*model)(x)).backward();
  }
  CHECK(detector.finding().empty());  // all finite
  auto& bad = static_cast<nn::Linear&>(*model->find("2"));
  std::vector<float> w = bad.weight.to_vector<float>();
  w[3] = std::numeric_limits<float>::infinity();
  bad.weight = Tensor::from_vector(w, bad.weight.shape());  // the registered member, replaced
  bad.weight.requires_grad_();
  {
    const AnomalyDetector::Watch watch(detector);
    nn::sum((*model)(x)).backward();
  }
  MESSAGE(detector.finding());
  CHECK(detector.finding().find("forward: the output of 2 (Linear)") != std::string::npos);
}

TEST_CASE("AnomalyDetector: a finite forward whose backward op gives the first non-finite gradient") {
  Generator gen(12, 0);
  auto model = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{nn::make<nn::Linear>(6, 5, true, gen),
                                                                   nn::make<InfBackward>(), nn::make<nn::Linear>(5, 3, true, gen)});
  std::mt19937 rng(6);
  AnomalyDetector detector(*model);
  {
    const AnomalyDetector::Watch watch(detector);
    nn::sum((*model)(random_tensor({2, 6}, rng))).backward();
  }
  MESSAGE(detector.finding());
  CHECK(detector.finding().find("backward: 'inf_backward' in 1 (InfBackward) ") != std::string::npos);
}
