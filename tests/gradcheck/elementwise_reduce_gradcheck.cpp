#include "nn/ops_elementwise.h"
#include "nn/ops_reduce.h"
#include "tests/support/gradcheck.h"

using namespace hemo;

TEST_CASE("gradcheck: add, mul (same shape and per-channel broadcast), scale") {
  Tensor a = test::random_tensor({3, 5, 2, 3}, 31), b = test::random_tensor({3, 5, 2, 3}, 32);
  test::gradcheck("add", [](const auto& in) { return nn::add(in[0], in[1]); }, {a, b});
  test::gradcheck("mul", [](const auto& in) { return nn::mul(in[0], in[1]); }, {a, b});
  test::gradcheck("scale", [](const auto& in) { return nn::scale(in[0], -2.5); }, {a});
  for (Shape bshape : {Shape{3, 5, 1, 1}, Shape{3, 5}}) {
    CAPTURE(shape_str(bshape));
    Tensor s = test::random_tensor(bshape, 33);
    test::gradcheck("mul broadcast", [](const auto& in) { return nn::mul(in[0], in[1]); }, {a, s});
  }
}

TEST_CASE("gradcheck: sum and mean, total and along a dim") {
  Tensor x = test::random_tensor({3, 4, 5}, 34);
  test::gradcheck("sum", [](const auto& in) { return nn::sum(in[0]); }, {x});
  test::gradcheck("mean", [](const auto& in) { return nn::mean(in[0]); }, {x});
  for (int64_t dim : {0, 1, -1}) {
    for (bool keep : {false, true}) {
      CAPTURE(dim);
      CAPTURE(keep);
      test::gradcheck("sum dim", [=](const auto& in) { return nn::sum(in[0], dim, keep); }, {x});
      test::gradcheck("mean dim", [=](const auto& in) { return nn::mean(in[0], dim, keep); }, {x});
    }
  }
}

TEST_CASE("gradcheck: flatten and reshape route gradients back to their elements") {
  Tensor x = test::random_tensor({3, 2, 3, 5}, 35);
  test::gradcheck("flatten(1)", [](const auto& in) { return in[0].flatten(1); }, {x});
  test::gradcheck("flatten(2)", [](const auto& in) { return in[0].flatten(2); }, {x});
  test::gradcheck("reshape", [](const auto& in) { return in[0].reshape({6, -1}); }, {x});
  // Through a nonlinear op on the new shape, so each element's gradient depends on its position.
  test::gradcheck("reshape then mul", [](const auto& in) {
    Tensor r = in[0].reshape({9, 10});
    return nn::mul(r, r);
  }, {x});
}
