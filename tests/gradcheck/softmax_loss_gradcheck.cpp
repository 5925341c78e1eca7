#include "nn/ops_loss.h"
#include "nn/ops_softmax.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

TEST_CASE("gradcheck: softmax and log_softmax along outer, middle and last dims") {
  Tensor x = test::random_tensor({2, 3, 4, 5}, 21, DType::f64, 0.1, 3.0);
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    test::gradcheck("softmax", [dim](const auto& in) { return nn::softmax(in[0], dim); }, {x});
    test::gradcheck("log_softmax", [dim](const auto& in) { return nn::log_softmax(in[0], dim); }, {x});
  }
}

TEST_CASE("gradcheck: cross_entropy for every reduction, with and without weights and smoothing") {
  Tensor logits = test::random_tensor({3, 5}, 22, DType::f64, 0.1, 4.0);
  const std::vector<int64_t> labels{4, 0, 2};
  Tensor weights = test::random_positive({5}, 23);
  for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
    for (bool weighted : {false, true}) {
      for (double smoothing : {0.0, 0.2}) {
        CAPTURE(static_cast<int>(r));
        CAPTURE(weighted);
        CAPTURE(smoothing);
        Tensor w = weighted ? weights : Tensor();
        test::gradcheck(
            "cross_entropy",
            [&](const auto& in) { return nn::cross_entropy(in[0], labels, w, smoothing, r); }, {logits});
      }
    }
  }
}
