#include <doctest/doctest.h>

#include "tensor/tensor.h"

using namespace hemo;

TEST_CASE("tensor: factories, shape queries and errors") {
  Tensor t = Tensor::full({2, 3, 4, 5}, 1.5);
  CHECK(t.numel() == 120);
  CHECK(t.dim() == 4);
  CHECK(t.size(-1) == 5);
  CHECK(t.size(1) == 3);
  CHECK(t.device() == Device::cpu());
  CHECK(t.to_vector<float>()[119] == 1.5f);
  CHECK(Tensor::zeros({3}, DType::f64).to_vector<double>() == std::vector<double>{0, 0, 0});
  CHECK_THROWS_WITH_AS(t.size(4), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(t.data<double>(), doctest::Contains("float32"), Error);
  CHECK_THROWS_WITH_AS(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), doctest::Contains("do not fill"), Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined"), Error);
  CHECK_THROWS_WITH_AS(t.item(), doctest::Contains("one-element"), Error);
}

TEST_CASE("tensor: reshape and flatten are views sharing storage") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor r = t.reshape({3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.raw() == t.raw());
  r.data<float>()[0] = 9;
  CHECK(t.to_vector<float>()[0] == 9);
  Tensor f = Tensor::zeros({2, 3, 4, 5}).flatten(1);
  CHECK(f.shape() == Shape{2, 60});
  CHECK(Tensor::zeros({2, 3, 4}).flatten(0).shape() == Shape{24});
  CHECK_THROWS_WITH_AS(t.reshape({4, 2}), doctest::Contains("cannot become"), Error);
  CHECK_THROWS_WITH_AS(t.reshape({-1, -1}), doctest::Contains("more than one -1"), Error);
}

TEST_CASE("tensor: clone and dtype conversion copy values") {
  Tensor t = Tensor::from_vector<float>({1.25f, -2.5f}, {2});
  Tensor c = t.clone();
  CHECK(c.raw() != t.raw());
  CHECK(c.to_vector<float>() == t.to_vector<float>());
  Tensor d = t.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector<double>() == std::vector<double>{1.25, -2.5});
  CHECK(d.to(DType::f32).to_vector<float>() == t.to_vector<float>());
}

TEST_CASE("tensor: CUDA devices are refused loudly without a GPU build or device") {
  if (cuda_available()) return;  // covered by the cuda suite on a GPU machine
  CHECK_THROWS_AS(Tensor::zeros({2}, DType::f32, Device::cuda(0)), Error);
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::f64, Device::cuda(0)), doctest::Contains("float64"), Error);
}
