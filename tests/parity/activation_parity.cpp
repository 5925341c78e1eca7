#include "nn/ops_activation.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: activations forward and backward") {
  for (Activation a : {Activation::relu, Activation::relu6, Activation::hardsigmoid, Activation::hardswish,
                       Activation::sigmoid}) {
    for (const auto& c : test::load_cases(activation_name(a))) {
      CAPTURE(c.name);
      Tensor x = c.input("x");
      test::check_case(c, nn::activation(a, x), {{"x", x}});
    }
  }
}
