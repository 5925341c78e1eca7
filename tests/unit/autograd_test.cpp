#include <doctest/doctest.h>

#include "nn/ops_activation.h"
#include "tensor/autograd.h"

using namespace hemo;

namespace {
// y = x * c (a test-only op) so these tests depend on nothing but the engine.
Tensor scale(const Tensor& x, double c) {
  Tensor y = Tensor::empty_like(x);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) yp[i] = static_cast<float>(xp[i] * c);
  record(y, "scale", {x}, [c](const Tensor& g) -> std::vector<Tensor> { return {scale(g, c)}; });
  return y;
}
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = a.detach().clone();
  accumulate_(y, b);
  record(y, "add", {a, b}, [](const Tensor& g) -> std::vector<Tensor> { return {g, g}; });
  return y;
}
}  // namespace

TEST_CASE("autograd: diamond graph sums both paths; leaves accumulate across calls") {
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3}).requires_grad_();
  Tensor a = scale(x, 2.0), b = scale(x, 3.0);
  Tensor y = add(a, scale(b, 0.5));  // dy/dx = 2 + 1.5 = 3.5
  y.backward(Tensor::ones({3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3.5f, 3.5f, 3.5f});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  Tensor z = scale(x, -1.0);
  z.backward(Tensor::ones({3}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("autograd: retain_grad and hooks on an intermediate tensor") {
  Tensor x = Tensor::from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor h = scale(x, 3.0);
  h.retain_grad();
  Tensor seen;
  h.register_hook([&](const Tensor& g) { seen = g.clone(); return scale(g, 10.0); });  // replaces it
  Tensor y = scale(h, 2.0);
  y.backward(Tensor::ones({2}));
  CHECK(seen.to_vector<float>() == std::vector<float>{2, 2});
  CHECK(h.grad().to_vector<float>() == std::vector<float>{20, 20});
  CHECK(x.grad().to_vector<float>() == std::vector<float>{60, 60});
}

TEST_CASE("autograd: clear errors") {
  Tensor x = Tensor::from_vector<float>({1, 2}, {2});
  CHECK_THROWS_WITH_AS(scale(x, 2.0).backward(), doctest::Contains("does not require grad"), Error);
  x.requires_grad_();
  Tensor y = scale(x, 2.0);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("one-element"), Error);
  y.backward(Tensor::ones({2}));
  CHECK_THROWS_WITH_AS(y.backward(Tensor::ones({2})), doctest::Contains("second time"), Error);
  Tensor w = scale(x, 2.0);
  w.backward(Tensor::ones({2}), /*retain_graph=*/true);
  w.backward(Tensor::ones({2}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{6, 6});
}

TEST_CASE("autograd: NoGradGuard records nothing; reshape routes gradients back") {
  Tensor x = Tensor::from_vector<float>({-1, 2, -3, 4}, {2, 2}).requires_grad_();
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    CHECK_FALSE(scale(x, 2.0).requires_grad());
  }
  CHECK(grad_enabled());
  Tensor y = nn::relu(x.reshape({4}));
  y.backward(Tensor::from_vector<float>({1, 2, 3, 4}, {4}));
  CHECK(x.grad().shape() == Shape{2, 2});
  CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 2, 0, 4});
}

TEST_CASE("autograd: gradients summed in place never overwrite a tensor someone else holds") {
  // a reaches the loss three times: twice through one add (its backward hands the same tensor to
  // both inputs) and once more; s's gradient is kept by a hook; the seed is the caller's; a
  // second backward adds to the leaf's gradient.
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3}).requires_grad_();
  Tensor a = scale(x, 3.0);
  a.retain_grad();
  Tensor s = add(a, a);
  Tensor seen;
  s.register_hook([&seen](const Tensor& g) {
    seen = g;
    return Tensor();
  });
  Tensor b = add(s, a);  // b = 3a, db/dx = 9
  const Tensor seed = Tensor::from_vector<float>({1, 2, -4}, {3});
  b.backward(seed);
  CHECK(x.grad().to_vector<float>() == std::vector<float>{9, 18, -36});
  CHECK(a.grad().to_vector<float>() == std::vector<float>{3, 6, -12});
  CHECK(seen.to_vector<float>() == std::vector<float>{1, 2, -4});  // s's own gradient, as the hook saw it
  CHECK(seed.to_vector<float>() == std::vector<float>{1, 2, -4});  // the caller's seed is untouched
  scale(x, 1.0).backward(seed);
  CHECK(x.grad().to_vector<float>() == std::vector<float>{10, 20, -40});
  CHECK(seed.to_vector<float>() == std::vector<float>{1, 2, -4});
}
