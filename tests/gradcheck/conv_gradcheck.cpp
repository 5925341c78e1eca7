#include "nn/ops_conv.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

namespace {
struct Geometry {
  nn::Pair stride, padding, dilation;
  int64_t groups;
};

// Checks d/dx, d/dweight and (when given) d/dbias of conv2d at random points.
void check_conv(const std::string& name, const Shape& x_shape, const Shape& w_shape, bool with_bias, Geometry g,
                uint64_t seed) {
  std::vector<Tensor> inputs = {test::random_tensor(x_shape, seed), test::random_tensor(w_shape, seed + 1)};
  if (with_bias) inputs.push_back(test::random_tensor({w_shape[0]}, seed + 2));
  test::gradcheck(
      name,
      [g, with_bias](const std::vector<Tensor>& in) {
        return nn::conv2d(in[0], in[1], with_bias ? in[2] : Tensor(), g.stride, g.padding, g.dilation, g.groups);
      },
      inputs);
}
}  // namespace

TEST_CASE("gradcheck: dense conv2d with stride, padding, dilation and groups") {
  check_conv("conv2d groups 2, stride 2x1, pad 1x2, dilation 1x2", {2, 4, 6, 5}, {6, 2, 3, 3}, true,
             {{2, 1}, {1, 2}, {1, 2}, 2}, 1);
  check_conv("conv2d 3x2 kernel, dilation 2, no bias", {2, 3, 5, 6}, {4, 3, 3, 2}, false, {{1, 1}, {1, 1}, {2, 1}, 1},
             2);
  check_conv("conv2d 1x1", {3, 3, 4, 3}, {5, 3, 1, 1}, true, {{1, 1}, {0, 0}, {1, 1}, 1}, 3);
}

TEST_CASE("gradcheck: depthwise conv2d, 3x3 and 5x5, stride 1 and 2, with and without bias") {
  for (int64_t k : {3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (bool bias : {true, false}) {
        const std::string name = cat("depthwise ", k, "x", k, " stride ", stride, bias ? " bias" : " no bias");
        check_conv(name, {2, 3, 7, 6}, {3, 1, k, k}, bias, {{stride, stride}, {k / 2, k / 2}, {1, 1}, 3},
                   static_cast<uint64_t>(10 * k + stride));
      }
    }
  }
}
