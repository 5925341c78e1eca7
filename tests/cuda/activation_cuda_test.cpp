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
    // Exactly at and around every kink, where the derivative's convention decides the result.
    Tensor kinks = Tensor::from_vector<float>({-6, -3.0001f, -3, -2.9999f, -1, 0, 1e-7f, 1, 2.9999f, 3, 3.0001f, 5.9999f,
                                               6, 6.0001f, 9},
                                              {15});
    check_op(cat("cuda ", activation_name(a), " at the kinks"), {kinks},
             [a](const std::vector<Tensor>& in) { return nn::activation(a, in[0]); }, 1e-6, 1e-6, ++seed);
  }
}
