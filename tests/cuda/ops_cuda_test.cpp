// CUDA linear, elementwise (squeeze-excitation's channel multiply too), reductions, softmax /
// log-softmax and the fused softmax cross-entropy against the CPU reference, forward and backward.
#include <doctest/doctest.h>

#include "nn/ops_elementwise.h"
#include "nn/ops_linear.h"
#include "nn/ops_loss.h"
#include "nn/ops_reduce.h"
#include "nn/ops_softmax.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;


TEST_CASE("cuda linear matches the CPU reference") {
  HEMO_REQUIRE_GPU();
  struct Case {
    Shape x;
    int64_t out;
    bool bias;
  };
  uint64_t seed = 10000;
  for (const Case& z : {Case{{3, 7}, 5, true}, Case{{1, 1280}, 8, true}, Case{{64, 1280}, 8, false},
                        Case{{2, 3, 33}, 17, true}, Case{{5, 0}, 4, true}}) {
    CAPTURE(shape_str(z.x));
    CAPTURE(z.out);
    std::vector<Tensor> in = two(rand_f32(z.x, seed + 1), rand_f32({z.out, z.x.back()}, seed + 2));
    if (z.bias) in.push_back(rand_f32({z.out}, seed + 3));
    seed += 4;
    check_op("cuda linear", in,
             [&](const std::vector<Tensor>& t) { return nn::linear(t[0], t[1], z.bias ? t[2] : Tensor()); }, 1e-5,
             1e-5, ++seed);
  }
}

TEST_CASE("cuda add, mul, channel-broadcast mul and scale match the CPU reference") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 11000;
  for (const Shape& s : {Shape{1}, Shape{3, 5, 7, 13}, Shape{2, 1000003}}) {
    CAPTURE(shape_str(s));
    seed += 10;
    check_op("cuda add", two(rand_f32(s, seed + 1), rand_f32(s, seed + 2)),
             [](const std::vector<Tensor>& t) { return nn::add(t[0], t[1]); }, 0.0, 0.0, seed + 3);
    check_op("cuda mul", two(rand_f32(s, seed + 4), rand_f32(s, seed + 5)),
             [](const std::vector<Tensor>& t) { return nn::mul(t[0], t[1]); }, 0.0, 0.0, seed + 6);
    check_op("cuda scale", {rand_f32(s, ++seed)},
             [](const std::vector<Tensor>& t) { return nn::scale(t[0], -0.37); }, 0.0, 0.0, ++seed);
  }
  // Squeeze-excitation: a [N, C, H, W] feature map times a [N, C, 1, 1] (or [N, C]) gate.
  for (const Shape& s : {Shape{3, 5, 7, 13}, Shape{8, 96, 28, 28}, Shape{2, 1, 1, 1}}) {
    for (bool flat : {false, true}) {
      CAPTURE(shape_str(s));
      CAPTURE(flat);
      const Shape gate = flat ? Shape{s[0], s[1]} : Shape{s[0], s[1], 1, 1};
      seed += 10;
      check_op("cuda mul (channel broadcast)", two(rand_f32(s, seed + 1), rand_f32(gate, seed + 2)),
               [](const std::vector<Tensor>& t) { return nn::mul(t[0], t[1]); }, 0.0, 1e-6, seed + 3);
    }
  }
}

TEST_CASE("cuda sum and mean, whole and along each dimension, match the CPU reference") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 12000;
  for (const Shape& s : {Shape{1}, Shape{3, 5, 7, 13}, Shape{2, 300, 3}, Shape{4, 1000003}}) {
    CAPTURE(shape_str(s));
    check_op("cuda sum", {rand_f32(s, ++seed)}, [](const std::vector<Tensor>& t) { return nn::sum(t[0]); }, 1e-6,
             0.0, ++seed);
    check_op("cuda mean", {rand_f32(s, ++seed)}, [](const std::vector<Tensor>& t) { return nn::mean(t[0]); }, 1e-6,
             0.0, ++seed);
    for (int64_t d = -1; d < static_cast<int64_t>(s.size()); ++d) {
      for (bool keep : {false, true}) {
        CAPTURE(d);
        CAPTURE(keep);
        check_op("cuda sum(dim)", {rand_f32(s, ++seed)},
                 [&](const std::vector<Tensor>& t) { return nn::sum(t[0], d, keep); }, 1e-6, 0.0, ++seed);
        check_op("cuda mean(dim)", {rand_f32(s, ++seed)},
                 [&](const std::vector<Tensor>& t) { return nn::mean(t[0], d, keep); }, 1e-6, 0.0, ++seed);
      }
    }
  }
}

TEST_CASE("cuda softmax and log_softmax match the CPU reference along every dimension") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 13000;
  // Rows of up to 64 run one per thread, longer ones one per block: both paths, strided rows too.
  for (const Shape& s : {Shape{3, 5, 7, 13}, Shape{4, 1000}, Shape{2, 100, 3}, Shape{1, 1}}) {
    for (int64_t d = -1; d < static_cast<int64_t>(s.size()); ++d) {
      CAPTURE(shape_str(s));
      CAPTURE(d);
      check_op("cuda softmax", {rand_f32(s, ++seed, 0.1, 5.0)},
               [&](const std::vector<Tensor>& t) { return nn::softmax(t[0], d); }, 1e-6, 1e-6, ++seed);
      check_op("cuda log_softmax", {rand_f32(s, ++seed, 0.1, 5.0)},
               [&](const std::vector<Tensor>& t) { return nn::log_softmax(t[0], d); }, 1e-6, 1e-6, ++seed);
    }
  }
}

TEST_CASE("cuda cross_entropy (fused softmax) matches the CPU reference: weights, smoothing, reductions") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 14000;
  for (int64_t n : {1, 3, 64}) {
    for (int64_t k : {1, 8, 1000}) {
      std::vector<int64_t> labels(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = (i * 7 + 3) % k;
      const Tensor weights = random_positive({k}, ++seed, DType::f32);
      for (bool weighted : {false, true}) {
        for (double smoothing : {0.0, 0.1}) {
          for (nn::Reduction red : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
            CAPTURE(n);
            CAPTURE(k);
            CAPTURE(weighted);
            CAPTURE(smoothing);
            CAPTURE(static_cast<int>(red));
            const Tensor wc = weighted ? weights : Tensor(), wg = weighted ? on_gpu(weights) : Tensor();
            check_op("cuda cross_entropy", {rand_f32({n, k}, ++seed, 0.1, 5.0)},
                     [&](const std::vector<Tensor>& t) {
                       return nn::cross_entropy(t[0], labels, t[0].is_cuda() ? wg : wc, smoothing, red);
                     },
                     1e-5, 1e-5, ++seed);
          }
        }
      }
    }
  }
}
