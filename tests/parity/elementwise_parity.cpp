#include "nn/ops_elementwise.h"
#include "nn/ops_reduce.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: add, mul (same shape and channel broadcast), scale") {
  for (const auto& c : test::load_cases("add")) {
    CAPTURE(c.name);
    Tensor a = c.input("a"), b = c.input("b");
    test::check_case(c, nn::add(a, b), {{"a", a}, {"b", b}});
  }
  for (const auto& c : test::load_cases("mul")) {
    CAPTURE(c.name);
    Tensor a = c.input("a"), b = c.input("b");
    test::check_case(c, nn::mul(a, b), {{"a", a}, {"b", b}});
  }
  for (const auto& c : test::load_cases("scale")) {
    CAPTURE(c.name);
    Tensor a = c.input("a");
    test::check_case(c, nn::scale(a, c.params.at("s")), {{"a", a}});
  }
}

TEST_CASE("torch-parity: sum and mean, total and along a dim") {
  for (const char* op : {"sum", "mean"}) {
    const bool is_sum = std::string(op) == "sum";
    for (const auto& c : test::load_cases(op)) {
      CAPTURE(c.name);
      Tensor x = c.input("x");
      Tensor y;
      if (c.params.contains("dim"))
        y = is_sum ? nn::sum(x, c.params.at("dim"), c.params.at("keepdim"))
                   : nn::mean(x, c.params.at("dim"), c.params.at("keepdim"));
      else
        y = is_sum ? nn::sum(x) : nn::mean(x);
      test::check_case(c, y, {{"x", x}});
    }
  }
}

TEST_CASE("torch-parity: flatten and reshape") {
  for (const auto& c : test::load_cases("flatten")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    test::check_case(c, x.flatten(c.params.at("start_dim")), {{"x", x}});
  }
  for (const auto& c : test::load_cases("reshape")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    test::check_case(c, x.reshape(c.params.at("shape").get<Shape>()), {{"x", x}});
  }
}
