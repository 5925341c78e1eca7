#include "nn/ops_dropout.h"
#include "nn/ops_norm.h"
#include "nn/ops_pool.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

TEST_CASE("gradcheck: batch_norm training (batch statistics) and eval (running statistics)") {
  for (Shape shape : {Shape{3, 4, 3, 5}, Shape{5, 4}}) {
    CAPTURE(shape_str(shape));
    Tensor x = test::random_tensor(shape, 41, DType::f64, 0.1, 2.0);
    Tensor w = test::random_tensor({4}, 42), b = test::random_tensor({4}, 43);
    Tensor rm0 = test::random_tensor({4}, 44), rv0 = test::random_positive({4}, 45);
    for (bool training : {true, false}) {
      CAPTURE(training);
      // Fresh copies per call: training updates the running statistics in place.
      auto bn = [&](const std::vector<Tensor>& in) {
        Tensor rm = rm0.clone(), rv = rv0.clone();
        return nn::batch_norm(in[0], in[1], in[2], rm, rv, training, 0.1, 1e-3);
      };
      test::gradcheck("batch_norm", bn, {x, w, b});
      auto bn_plain = [&](const std::vector<Tensor>& in) {
        Tensor rm = rm0.clone(), rv = rv0.clone(), none;
        return nn::batch_norm(in[0], none, none, rm, rv, training, 0.01, 1e-5);
      };
      test::gradcheck("batch_norm affine off", bn_plain, {x});
    }
  }
}

TEST_CASE("gradcheck: max_pool2d (padding, ceil mode, overlapping windows; ties skipped as kinks)") {
  Tensor x = test::random_tensor({2, 3, 7, 13}, 46);
  struct Cfg {
    nn::Pair k, s, p;
    bool ceil;
  };
  for (Cfg c : {Cfg{{3, 3}, {2, 2}, {1, 1}, false}, Cfg{{2, 2}, {2, 2}, {0, 0}, true}, Cfg{{3, 3}, {1, 1}, {1, 1}, false},
                Cfg{{3, 2}, {2, 1}, {1, 0}, true}}) {
    CAPTURE(c.k[0]);
    CAPTURE(c.s[0]);
    CAPTURE(c.ceil);
    test::gradcheck("max_pool2d", [c](const auto& in) { return nn::max_pool2d(in[0], c.k, c.s, c.p, c.ceil); }, {x});
  }
}

TEST_CASE("gradcheck: avg_pool2d (count_include_pad both ways, ceil mode) and adaptive_avg_pool2d") {
  Tensor x = test::random_tensor({2, 3, 7, 13}, 47);
  for (bool ceil : {false, true}) {
    for (bool include : {false, true}) {
      CAPTURE(ceil);
      CAPTURE(include);
      test::gradcheck("avg_pool2d 3/2/1",
                      [=](const auto& in) { return nn::avg_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}, ceil, include); }, {x});
      test::gradcheck("avg_pool2d (3,2)/(1,2)/1 overlapping rows",
                      [=](const auto& in) { return nn::avg_pool2d(in[0], {3, 2}, {1, 2}, {1, 1}, ceil, include); }, {x});
    }
  }
  for (nn::Pair out : {nn::Pair{3, 5}, nn::Pair{1, 1}, nn::Pair{4, 6}, nn::Pair{9, 14}}) {
    CAPTURE(out[0]);
    CAPTURE(out[1]);
    test::gradcheck("adaptive_avg_pool2d", [out](const auto& in) { return nn::adaptive_avg_pool2d(in[0], out); }, {x});
  }
}

TEST_CASE("gradcheck: dropout with the mask held fixed by reseeding a generator per call") {
  Tensor x = test::random_tensor({3, 4, 5}, 48);
  for (double p : {0.2, 0.6}) {
    CAPTURE(p);
    auto f = [p](const std::vector<Tensor>& in) {
      Generator g(99, 4);  // the same seed every call: the same mask
      return nn::dropout(in[0], p, true, g);
    };
    // The mask must actually drop and keep something, or this checks only a scaling.
    std::vector<double> y = f({x}).to_vector<double>();
    size_t zeros = 0;
    for (double v : y) zeros += v == 0;
    CHECK(zeros > 0);
    CHECK(zeros < y.size());
    test::gradcheck("dropout", f, {x});
  }
}
