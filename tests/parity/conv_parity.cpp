#include "nn/ops_conv.h"
#include "tests/parity/parity.h"

using namespace hemo;

namespace {
nn::Pair pair(const nlohmann::json& j) { return {j.at(0).get<int64_t>(), j.at(1).get<int64_t>()}; }
}  // namespace

TEST_CASE("torch-parity: conv2d forward and backward (dense, grouped, depthwise)") {
  for (const auto& c : test::load_cases("conv2d")) {
    CAPTURE(c.name);
    Tensor x = c.input("x"), w = c.input("w"), b;
    std::vector<std::pair<std::string, Tensor>> named = {{"x", x}, {"w", w}};
    const auto& p = c.params;
    if (p.at("bias").get<bool>()) {
      b = c.input("b");
      named.emplace_back("b", b);
    }
    Tensor y = nn::conv2d(x, w, b, pair(p.at("stride")), pair(p.at("padding")), pair(p.at("dilation")),
                          p.at("groups").get<int64_t>());
    test::check_case(c, y, named);
  }
}
