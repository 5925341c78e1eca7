// --precision bf16 on the CPU (kernels/precision.h): convolutions and linear layers, forward and
// both gradients, against the same ops in float32 (the check and its tolerance:
// tests/support/bf16_check.h; the CUDA twin is tests/cuda/bf16_cuda_test.cpp).
#include <doctest/doctest.h>

#include "kernels/gemm.h"
#include "kernels/precision.h"
#include "nn/ops_conv.h"
#include "tests/support/bf16_check.h"
#include "tests/support/random.h"

using namespace hemo;
using hemo::test::random_tensor;

TEST_CASE("bf16 precision: convolutions and linear layers, forward and gradients, against float32") {
  test::check_bf16_cases(Device::cpu());
  test::check_bf16_cases(Device::cpu(), MemoryFormat::channels_last);
  CHECK_FALSE(cpu::gemm_bf16());
}

TEST_CASE("bf16 precision: float64 (the gradient checks' type) is never rounded") {
  const Tensor x = random_tensor({2, 3, 5, 5}, 20), w = random_tensor({4, 3, 3, 3}, 21);
  set_precision(Precision::bf16);
  const std::vector<double> got = nn::conv2d(x, w, Tensor()).to_vector<double>();
  set_precision(Precision::fp32);
  CHECK(got == nn::conv2d(x, w, Tensor()).to_vector<double>());
}
