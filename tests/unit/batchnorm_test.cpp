#include <doctest/doctest.h>

#include <vector>

#include "nn/ops_norm.h"

using namespace hemo;

namespace {
// x [2, 2, 1, 2]: channel 0 holds 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); channel 1
// holds -4, 2, 3, 3 (mean 1, biased var 8.5, unbiased 34/3). With eps 0.5 the inverse standard
// deviations are 1/2 and 1/3.
Tensor tiny_x() { return Tensor::from_vector<float>({1, 2, -4, 2, 3, 6, 3, 3}, {2, 2, 1, 2}); }

void check_all(const Tensor& t, const std::vector<double>& want) {
  auto v = t.to_vector<float>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) {
    CAPTURE(i);
    CHECK(v[i] == doctest::Approx(want[i]).epsilon(1e-6));
  }
}
}  // namespace

TEST_CASE("batch_norm training: hand-computed output, gradients and running statistics") {
  Tensor x = tiny_x().requires_grad_();
  Tensor w = Tensor::from_vector<float>({2, -1}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({0.5f, 1}, {2}).requires_grad_();
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Tensor y = nn::batch_norm(x, w, b, rm, rv, true, 0.1, 0.5);
  // ch0: xhat = (-1, -0.5, 0, 1.5), y = 2 xhat + 0.5; ch1: xhat = (-5, 1, 2, 2) / 3, y = 1 - xhat.
  check_all(y, {-1.5, -0.5, 8.0 / 3, 2.0 / 3, 0.5, 3.5, 1.0 / 3, 1.0 / 3});
  check_all(rm, {0.1 * 3, 0.1 * 1});
  check_all(rv, {0.9 + 0.1 * 14.0 / 3, 0.9 + 0.1 * 34.0 / 3});  // unbiased batch variance

  // gy = 1 at channel 0's first element and 2 at channel 1's last.
  y.backward(Tensor::from_vector<float>({1, 0, 0, 0, 0, 0, 0, 2}, {2, 2, 1, 2}));
  // ch0: gx = 2 * 0.5 / 4 * (4 gy - 1 + xhat); ch1: gx = -1/3 / 4 * (4 gy - 2 - 4/3 xhat).
  check_all(x.grad(), {0.5, -0.375, -1.0 / 54, 11.0 / 54, -0.25, 0.125, 13.0 / 54, -23.0 / 54});
  check_all(w.grad(), {-1, 4.0 / 3});  // sum(gy xhat)
  check_all(b.grad(), {1, 2});         // sum(gy)
}

TEST_CASE("batch_norm eval: running statistics, affine backward, stats untouched") {
  Tensor x = tiny_x().requires_grad_();
  Tensor w = Tensor::from_vector<float>({2, -1}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({0.5f, 1}, {2}).requires_grad_();
  Tensor rm = Tensor::from_vector<float>({1, -1}, {2}), rv = Tensor::from_vector<float>({3.5f, 8.5f}, {2});
  Tensor y = nn::batch_norm(x, w, b, rm, rv, false, 0.1, 0.5);
  // ch0: 2 (x - 1) / 2 + 0.5 = x - 0.5; ch1: -(x + 1) / 3 + 1.
  check_all(y, {0.5, 1.5, 2, 0, 2.5, 5.5, -1.0 / 3, -1.0 / 3});
  check_all(rm, {1, -1});
  check_all(rv, {3.5, 8.5});
  y.backward(Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 1, 2}));
  check_all(x.grad(), {1, 2, -1, -4.0 / 3, 5, 6, -7.0 / 3, -8.0 / 3});  // gamma invstd gy
  // ggamma = sum(gy (x - rm) invstd): ch0 (1*0 + 2*1 + 5*2 + 6*5) / 2; ch1 (3*-3 + 4*3 + 7*4 + 8*4) / 3
  check_all(w.grad(), {21, 21});
  check_all(b.grad(), {14, 22});
}

TEST_CASE("batch_norm: a 2-d [N, C] input is normalized per column, affine off") {
  // The same channel values as tiny_x, as 4 rows of 2 columns.
  Tensor x = Tensor::from_vector<float>({1, -4, 2, 2, 3, 3, 6, 3}, {4, 2});
  Tensor none, rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Tensor y = nn::batch_norm(x, none, none, rm, rv, true, 0.01, 0.5);
  check_all(y, {-1, -5.0 / 3, -0.5, 1.0 / 3, 0, 2.0 / 3, 1.5, 2.0 / 3});
  check_all(rv, {0.99 + 0.01 * 14.0 / 3, 0.99 + 0.01 * 34.0 / 3});
  // Without running statistics training still works; eval needs them.
  Tensor u1, u2;
  CHECK(nn::batch_norm(x, none, none, u1, u2, true, 0.1, 1e-5).shape() == Shape{4, 2});
  CHECK_THROWS_AS(nn::batch_norm(x, none, none, u1, u2, false, 0.1, 1e-5), Error);
  // One value per channel cannot be normalized in training.
  Tensor one = Tensor::ones({1, 2});
  CHECK_THROWS_AS(nn::batch_norm(one, none, none, rm, rv, true, 0.1, 1e-5), Error);
  Tensor wrong = Tensor::ones({3});
  CHECK_THROWS_AS(nn::batch_norm(x, wrong, wrong, rm, rv, true, 0.1, 1e-5), Error);
}

TEST_CASE("batch_norm training from channel sums: the statistics come from them, ill-conditioned ones do not") {
  Tensor w = Tensor::from_vector<float>({2, -1}, {2}), b = Tensor::from_vector<float>({0.5f, 1}, {2});
  Tensor none;
  for (bool channels_last : {false, true}) {  // NCHW's per-channel kernels and the [M, C] row kernels
    CAPTURE(channels_last);
    const MemoryFormat f = channels_last ? MemoryFormat::channels_last : MemoryFormat::contiguous;
    // Sums read as given: channel 0's say mean 4 (not the data's 3) and M2 = 78 - 16 * 4 = 14
    // (biased var 3.5): y = 2 (x - 4) / 2 + 0.5; channel 1's are its own (sum 4, sqsum 38).
    {
      Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
      const nn::ChannelSums sums{Tensor::from_vector<float>({16, 4}, {2}), Tensor::from_vector<float>({78, 38}, {2})};
      Tensor y = nn::batch_norm(tiny_x().to(f), w, b, rm, rv, true, 0.1, 0.5, BnAct::none, none, &sums);
      check_all(y.contiguous(), {-2.5, -1.5, 8.0 / 3, 2.0 / 3, -0.5, 2.5, 1.0 / 3, 1.0 / 3});
      check_all(rm, {0.1 * 4, 0.1 * 1});
      check_all(rv, {0.9 + 0.1 * 14.0 / 3, 0.9 + 0.1 * 34.0 / 3});
    }
    // 1000 + small values: the one-pass formula cancels (float32 sums of ~4e6 round by 0.25, M2 is
    // ~1e-5), so those channels take the two passes: the same bits as without sums.
    Tensor x = Tensor::from_vector<float>({1000.001f, 1000.002f, 999.996f, 1000.002f, 1000.003f, 1000.006f,
                                           1000.003f, 1000.003f},
                                          {2, 2, 1, 2})
                   .to(f);
    std::vector<float> v = x.contiguous().to_vector<float>();
    float s[2] = {}, ss[2] = {};
    for (size_t i = 0; i < v.size(); ++i) {
      s[i / 2 % 2] += v[i];
      ss[i / 2 % 2] += v[i] * v[i];
    }
    const nn::ChannelSums sums{Tensor::from_vector<float>({s[0], s[1]}, {2}),
                               Tensor::from_vector<float>({ss[0], ss[1]}, {2})};
    Tensor rm1 = Tensor::zeros({2}), rv1 = Tensor::ones({2}), rm2 = Tensor::zeros({2}), rv2 = Tensor::ones({2});
    const Tensor with = nn::batch_norm(x, w, b, rm1, rv1, true, 0.1, 1e-5, BnAct::none, none, &sums);
    const Tensor without = nn::batch_norm(x, w, b, rm2, rv2, true, 0.1, 1e-5);
    CHECK(with.contiguous().to_vector<float>() == without.contiguous().to_vector<float>());
    CHECK(rv1.to_vector<float>() == rv2.to_vector<float>());
  }
}
