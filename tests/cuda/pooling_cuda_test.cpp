// CUDA pooling against the CPU reference: max (values and gradients, exact), average (count and
// ignore padding, ceil mode) and adaptive average, on odd shapes with overlapping windows.
#include <doctest/doctest.h>

#include "nn/ops_pool.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;

namespace {
struct Window {
  nn::Pair kernel, stride, padding;
  bool ceil_mode;
};
const Window kWindows[] = {
    {{3, 3}, {2, 2}, {1, 1}, false},  // ResNet's stem pool: overlapping windows
    {{3, 3}, {2, 2}, {1, 1}, true},   {{2, 2}, {2, 2}, {0, 0}, false}, {{2, 2}, {2, 2}, {0, 0}, true},
    {{3, 2}, {1, 2}, {1, 0}, false},  {{5, 5}, {3, 3}, {2, 2}, true},  {{1, 1}, {1, 1}, {0, 0}, false},
};
const Shape kShapes[] = {{3, 5, 7, 13}, {1, 1, 4, 4}, {2, 3, 17, 9}, {8, 64, 56, 56}};
}  // namespace

TEST_CASE("cuda max_pool2d matches the CPU reference exactly") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 900;
  for (const Shape& s : kShapes) {
    for (const Window& w : kWindows) {
      CAPTURE(shape_str(s));
      CAPTURE(w.kernel[0]);
      CAPTURE(w.ceil_mode);
      // Gathered gradients add in the reference's order: the result is bit-identical (tol 0).
      check_op("cuda max_pool2d", {rand_f32(s, ++seed)},
               [&](const std::vector<Tensor>& in) {
                 return nn::max_pool2d(in[0], w.kernel, w.stride, w.padding, w.ceil_mode);
               },
               0.0, 0.0, ++seed);
    }
  }
}

TEST_CASE("cuda avg_pool2d matches the CPU reference, counting padding or not") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 1900;
  for (const Shape& s : kShapes) {
    for (const Window& w : kWindows) {
      for (bool include_pad : {true, false}) {
        CAPTURE(shape_str(s));
        CAPTURE(w.kernel[0]);
        CAPTURE(w.ceil_mode);
        CAPTURE(include_pad);
        check_op("cuda avg_pool2d", {rand_f32(s, ++seed)},
                 [&](const std::vector<Tensor>& in) {
                   return nn::avg_pool2d(in[0], w.kernel, w.stride, w.padding, w.ceil_mode, include_pad);
                 },
                 1e-6, 1e-6, ++seed);
      }
    }
  }
}

TEST_CASE("cuda adaptive_avg_pool2d matches the CPU reference") {
  HEMO_REQUIRE_GPU();
  const nn::Pair outs[] = {{1, 1}, {3, 5}, {4, 6}, {7, 7}, {9, 20}};  // 7x7 and larger than the input too
  uint64_t seed = 2900;
  for (const Shape& s : kShapes) {
    for (const nn::Pair& o : outs) {
      CAPTURE(shape_str(s));
      CAPTURE(o[0]);
      CAPTURE(o[1]);
      check_op("cuda adaptive_avg_pool2d", {rand_f32(s, ++seed)},
               [&](const std::vector<Tensor>& in) { return nn::adaptive_avg_pool2d(in[0], o); }, 1e-6, 1e-6, ++seed);
    }
  }
}
