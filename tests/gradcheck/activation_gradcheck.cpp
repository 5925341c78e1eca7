#include "nn/ops_activation.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

TEST_CASE("gradcheck: activations (inputs spread over every piece, kinks skipped)") {
  for (Activation a : {Activation::relu, Activation::relu6, Activation::hardsigmoid, Activation::hardswish,
                       Activation::sigmoid}) {
    CAPTURE(activation_name(a));
    // +-[0.1, 8]: covers relu6's 6, hardswish/hardsigmoid's +-3 on both sides.
    Tensor x = test::random_tensor({2, 3, 5, 7}, 11, DType::f64, 0.1, 8.0);
    test::gradcheck(activation_name(a), [a](const auto& in) { return nn::activation(a, in[0]); }, {x});
  }
}
