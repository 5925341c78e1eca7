#include "nn/ops_loss.h"
#include "nn/ops_softmax.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: softmax and log_softmax forward and backward") {
  for (const char* op : {"softmax", "log_softmax"}) {
    for (const auto& c : test::load_cases(op)) {
      CAPTURE(c.name);
      Tensor x = c.input("x");
      const int64_t dim = c.params.at("dim");
      test::check_case(c, std::string(op) == "softmax" ? nn::softmax(x, dim) : nn::log_softmax(x, dim), {{"x", x}});
    }
  }
}

TEST_CASE("torch-parity: cross_entropy (reductions, class weights, label smoothing)") {
  for (const auto& c : test::load_cases("cross_entropy")) {
    CAPTURE(c.name);
    Tensor logits = c.input("logits");
    Tensor weight = c.has("in.weight") ? c.tensor("in.weight") : Tensor();
    const std::string r = c.params.at("reduction");
    const nn::Reduction red = r == "mean" ? nn::Reduction::mean : r == "sum" ? nn::Reduction::sum : nn::Reduction::none;
    Tensor loss = nn::cross_entropy(logits, c.ints("in.labels"), weight, c.params.at("label_smoothing"), red);
    test::check_case(c, loss, {{"logits", logits}});
  }
}
