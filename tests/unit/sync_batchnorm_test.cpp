// sync_batch_norm (nn/ops_sync_norm.h) on one rank (the all-reduce is the identity) against the
// hand-computed batch_norm values of batchnorm_test.cpp, and two ranks (two threads that add
// their buffers) against one batch holding both halves.
#include <doctest/doctest.h>

#include <barrier>
#include <thread>
#include <vector>

#include "nn/ops_norm.h"
#include "nn/ops_sync_norm.h"

using namespace hemo;

namespace {

void check_close(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  REQUIRE(va.size() == vb.size());
  for (size_t i = 0; i < va.size(); ++i) {
    CAPTURE(i);
    CHECK(va[i] == doctest::Approx(vb[i]).epsilon(1e-5));
  }
}

struct Run {
  Tensor x, w, b, rm, rv, y;
};

Run make(const std::vector<float>& xs, const Shape& shape) {
  Run r;
  r.x = Tensor::from_vector<float>(xs, shape).requires_grad_();
  r.w = Tensor::from_vector<float>({2, -1}, {2}).requires_grad_();
  r.b = Tensor::from_vector<float>({0.5f, 1}, {2}).requires_grad_();
  r.rm = Tensor::zeros({2}), r.rv = Tensor::ones({2});
  return r;
}

}  // namespace

TEST_CASE("sync_batch_norm on one rank equals batch_norm: output, gradients, running statistics") {
  const std::vector<float> xs = {1, 2, -4, 2, 3, 6, 3, 3};
  const std::vector<float> gys = {1, 0, 0, 0, 0, 0, 0, 2};
  Run a = make(xs, {2, 2, 1, 2}), s = make(xs, {2, 2, 1, 2});
  a.y = nn::batch_norm(a.x, a.w, a.b, a.rm, a.rv, true, 0.1, 0.5);
  s.y = nn::sync_batch_norm(s.x, s.w, s.b, s.rm, s.rv, 0.1, 0.5, [](std::span<double>) {});
  for (Run* r : {&a, &s}) r->y.backward(Tensor::from_vector<float>(gys, {2, 2, 1, 2}));
  check_close(s.y, a.y);
  check_close(s.rm, a.rm);
  check_close(s.rv, a.rv);
  check_close(s.x.grad(), a.x.grad());
  check_close(s.w.grad(), a.w.grad());
  check_close(s.b.grad(), a.b.grad());
}

TEST_CASE("sync_batch_norm on two ranks: each half normalized with the whole batch's statistics") {
  const std::vector<float> xs = {1, 2, -4, 2, 3, 6, 3, 3}, gys = {1, 0, 0, 0, 0, 0, 0, 2};
  Run whole = make(xs, {2, 2, 1, 2});
  whole.y = nn::batch_norm(whole.x, whole.w, whole.b, whole.rm, whole.rv, true, 0.1, 0.5);
  whole.y.backward(Tensor::from_vector<float>(gys, {2, 2, 1, 2}));
  // Two "ranks" in two threads; the all-reduce adds the two buffers after a barrier.
  std::vector<double> shared[2];
  std::barrier sync(2);
  Run half[2];
  auto rank = [&](int r) {
    const auto first = static_cast<std::ptrdiff_t>(4 * r);
    half[r] = make(std::vector<float>(xs.begin() + first, xs.begin() + first + 4), {1, 2, 1, 2});
    auto reduce = [&, r](std::span<double> d) {
      shared[r].assign(d.begin(), d.end());
      sync.arrive_and_wait();
      for (size_t i = 0; i < d.size(); ++i) d[i] = shared[0][i] + shared[1][i];
      sync.arrive_and_wait();
    };
    half[r].y = nn::sync_batch_norm(half[r].x, half[r].w, half[r].b, half[r].rm, half[r].rv, 0.1, 0.5, reduce);
    half[r].y.backward(Tensor::from_vector<float>(std::vector<float>(gys.begin() + first, gys.begin() + first + 4), {1, 2, 1, 2}));
  };
  std::thread t0(rank, 0), t1(rank, 1);
  t0.join(), t1.join();
  for (int r = 0; r < 2; ++r) {
    CAPTURE(r);
    check_close(half[r].rm, whole.rm);
    check_close(half[r].rv, whole.rv);
  }
  std::vector<float> y, gx;
  for (int r = 0; r < 2; ++r) {
    const auto vy = half[r].y.to_vector<float>(), vg = half[r].x.grad().to_vector<float>();
    y.insert(y.end(), vy.begin(), vy.end());
    gx.insert(gx.end(), vg.begin(), vg.end());
  }
  check_close(Tensor::from_vector(y, {2, 2, 1, 2}), whole.y);
  check_close(Tensor::from_vector(gx, {2, 2, 1, 2}), whole.x.grad());
  // The parameters' gradients: each rank's own sums, which add up to the whole batch's.
  const auto w0 = half[0].w.grad().to_vector<float>(), w1 = half[1].w.grad().to_vector<float>();
  check_close(Tensor::from_vector<float>({w0[0] + w1[0], w0[1] + w1[1]}, {2}), whole.w.grad());
}
