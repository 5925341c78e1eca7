// CUDA activations against the CPU reference: forward and backward, odd and large shapes.
#include <doctest/doctest.h>

#include "nn/ops_activation.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;

TEST_CASE("cuda activations match the CPU reference, forward and backward") {
  HEMO_REQUIRE_GPU();
  const Activation all[] = {Activation::relu, Activation::relu6, Activation::hardsigmoid, Activation::hardswish,
                            Activation::sigmoid};
  // Magnitudes up to 8 cross every kink (0, +-3, 6); 3 * 1000003 elements run the grid-stride
  // loops more than once per thread.
  const Shape shapes[] = {{1}, {3, 5, 7, 13}, {2, 19, 11}, {3, 1000003}};
  uint64_t seed = 100;
  for (Activation a : all) {
    for (const Shape& s : shapes) {
      CAPTURE(shape_str(s));
      Tensor x = rand_f32(s, ++seed, 0.05, 8.0);
      check_op(cat("cuda ", activation_name(a)), {x},
               [a](const std::vector<Tensor>& in) { return nn::activation(a, in[0]); }, 1e-6, 1e-6, ++seed);
    }
  }
}
