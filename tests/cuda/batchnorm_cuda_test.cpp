// CUDA batch norm against the CPU reference: training (batch statistics, running-stat update,
// backward for input, scale and shift) and eval, with and without affine parameters, NCHW and
// [N, C] inputs, odd shapes.
#include <doctest/doctest.h>

#include "nn/ops_norm.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;

namespace {
struct Case {
  Shape shape;
  bool affine;
};

// Runs batch_norm on both devices from the same running statistics and compares the output,
// the updated running statistics and the three gradients.
void check_batch_norm(const Case& k, bool training, uint64_t seed) {
  const int64_t c = k.shape[1];
  CAPTURE(shape_str(k.shape));
  CAPTURE(k.affine);
  CAPTURE(training);
  Tensor x = rand_f32(k.shape, seed, 0.1, 3.0);
  Tensor rm = rand_f32({c}, seed + 1), rv = random_positive({c}, seed + 2, DType::f32);
  Tensor rm_gpu = on_gpu(rm), rv_gpu = on_gpu(rv);
  Tensor rm_cpu = rm.clone(), rv_cpu = rv.clone();
  std::vector<Tensor> inputs{x};
  if (k.affine) {
    inputs.push_back(rand_f32({c}, seed + 3, 0.5, 2.0));
    inputs.push_back(rand_f32({c}, seed + 4));
  }
  const double momentum = 0.1, eps = 1e-5;
  check_op(cat("cuda batch_norm ", training ? "train" : "eval"), inputs,
           [&](const std::vector<Tensor>& in) {
             const bool on_gpu_side = in[0].is_cuda();
             Tensor& m = on_gpu_side ? rm_gpu : rm_cpu;
             Tensor& v = on_gpu_side ? rv_gpu : rv_cpu;
             Tensor none;
             return nn::batch_norm(in[0], k.affine ? in[1] : none, k.affine ? in[2] : none, m, v, training, momentum,
                                   eps);
           },
           2e-6, 2e-5, seed + 5);
  HEMO_CHECK_CLOSE(rm_gpu, rm_cpu, 1e-6, "running_mean");
  HEMO_CHECK_CLOSE(rv_gpu, rv_cpu, 1e-6, "running_var");
}
}  // namespace

TEST_CASE("cuda batch_norm matches the CPU reference in training and eval") {
  HEMO_REQUIRE_GPU();
  const Case cases[] = {
      {{3, 5, 7, 13}, true},    {{3, 5, 7, 13}, false}, {{7, 3}, true},       // BatchNorm1d: hw = 1
      {{2, 17, 1, 1}, true},    {{1, 6, 2, 1}, true},   {{4, 33, 28, 28}, true},  // M = 2; M = 2 per channel
      {{16, 7, 56, 57}, true},  // 51072 elements per channel: many rounds of the block's loops
  };
  uint64_t seed = 500;
  for (const Case& k : cases) {
    check_batch_norm(k, true, seed += 10);
    check_batch_norm(k, false, seed += 10);
  }
}
