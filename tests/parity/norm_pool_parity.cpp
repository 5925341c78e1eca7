#include "nn/ops_norm.h"
#include "nn/ops_pool.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: batch_norm train (with running-stat updates) and eval") {
  for (const auto& c : test::load_cases("batch_norm")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    Tensor w = c.has("in.weight") ? c.input("weight") : Tensor();
    Tensor b = c.has("in.bias") ? c.input("bias") : Tensor();
    Tensor rm = c.has("in.running_mean") ? c.tensor("in.running_mean") : Tensor();
    Tensor rv = c.has("in.running_var") ? c.tensor("in.running_var") : Tensor();
    Tensor y = nn::batch_norm(x, w, b, rm, rv, c.params.at("training"), c.params.at("momentum"), c.params.at("eps"));
    // torch's running statistics after its forward (updated when training, untouched in eval).
    CHECK(c.has("extra.running_mean") == rm.defined());
    if (rm.defined()) {
      HEMO_CHECK_CLOSE(rm, c.tensor("extra.running_mean"), 1e-5, c.name + " running_mean");
      HEMO_CHECK_CLOSE(rv, c.tensor("extra.running_var"), 1e-5, c.name + " running_var");
    }
    test::check_case(c, y, {{"x", x}, {"weight", w}, {"bias", b}});
  }
}

namespace {
nn::Pair pair(const nlohmann::json& v) {
  if (v.is_number()) return {v.get<int64_t>(), v.get<int64_t>()};
  return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
}
}  // namespace

TEST_CASE("torch-parity: max_pool2d, avg_pool2d, adaptive_avg_pool2d") {
  for (const auto& c : test::load_cases("max_pool2d")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    const auto& p = c.params;
    test::check_case(c, nn::max_pool2d(x, pair(p.at("kernel")), pair(p.at("stride")), pair(p.at("padding")),
                                       p.at("ceil_mode")),
                     {{"x", x}});
  }
  for (const auto& c : test::load_cases("avg_pool2d")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    const auto& p = c.params;
    test::check_case(c, nn::avg_pool2d(x, pair(p.at("kernel")), pair(p.at("stride")), pair(p.at("padding")),
                                       p.at("ceil_mode"), p.at("count_include_pad")),
                     {{"x", x}});
  }
  for (const auto& c : test::load_cases("adaptive_avg_pool2d")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    test::check_case(c, nn::adaptive_avg_pool2d(x, pair(c.params.at("output"))), {{"x", x}});
  }
}
