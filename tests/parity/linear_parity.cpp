#include "nn/ops_linear.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: linear forward and backward") {
  for (const auto& c : test::load_cases("linear")) {
    CAPTURE(c.name);
    Tensor x = c.input("x"), w = c.input("w"), b;
    std::vector<std::pair<std::string, Tensor>> named = {{"x", x}, {"w", w}};
    if (c.params.at("bias").get<bool>()) {
      b = c.input("b");
      named.emplace_back("b", b);
    }
    test::check_case(c, nn::linear(x, w, b), named);
  }
}
