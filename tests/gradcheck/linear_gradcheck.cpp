#include "nn/ops_linear.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

TEST_CASE("gradcheck: linear with and without bias") {
  Tensor x = test::random_tensor({3, 5}, 1), w = test::random_tensor({4, 5}, 2), b = test::random_tensor({4}, 3);
  test::gradcheck("linear", [](const auto& in) { return nn::linear(in[0], in[1], in[2]); }, {x, w, b});
  test::gradcheck("linear no bias", [](const auto& in) { return nn::linear(in[0], in[1], Tensor()); }, {x, w});
  Tensor x3 = test::random_tensor({2, 3, 5}, 4);
  test::gradcheck("linear [2, 3, 5] input", [](const auto& in) { return nn::linear(in[0], in[1], in[2]); }, {x3, w, b});
}
