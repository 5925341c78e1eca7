// Dropout against PyTorch. The two draw their masks from different generators, so the masks
// cannot be compared element by element. What must agree is the contract, checked here on
// torch's reference outputs and on hemo's alike: each element is either dropped (output and
// gradient 0) or kept with output x / (1 - p) and gradient gy / (1 - p), i.e. the backward reuses
// the forward's mask and scale; the kept fraction is 1 - p within sampling error; eval mode is
// the identity.
#include <cmath>

#include "nn/ops_dropout.h"
#include "tests/parity/parity.h"

using namespace hemo;

namespace {
// Checks the contract on one set of tensors and returns the kept fraction.
double check_contract(const std::string& who, const Tensor& x, const Tensor& out, const Tensor& gy, const Tensor& gx,
                      double p) {
  const std::vector<double> xv = x.to_vector<double>(), ov = out.to_vector<double>(), gyv = gy.to_vector<double>(),
                            gxv = gx.to_vector<double>();
  REQUIRE(ov.size() == xv.size());
  REQUIRE(gxv.size() == xv.size());
  const double scale = p < 1 ? 1 / (1 - p) : 0;
  size_t kept = 0, bad_out = 0, bad_grad = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const bool keep = ov[i] != 0;  // inputs are never zero
    kept += keep;
    const double want = keep ? xv[i] * scale : 0, gwant = keep ? gyv[i] * scale : 0;
    bad_out += std::fabs(ov[i] - want) > 1e-6 * (1 + std::fabs(want));
    bad_grad += std::fabs(gxv[i] - gwant) > 1e-6 * (1 + std::fabs(gwant));
  }
  CHECK_MESSAGE(bad_out == 0, who, ": ", bad_out, " outputs are neither 0 nor x / (1 - p)");
  CHECK_MESSAGE(bad_grad == 0, who, ": ", bad_grad, " gradients are not gy * mask / (1 - p)");
  return static_cast<double>(kept) / static_cast<double>(xv.size());
}
}  // namespace

TEST_CASE("torch-parity: dropout obeys torch's contract (scaling, mask reuse, keep rate, eval identity)") {
  for (const auto& c : test::load_cases("dropout")) {
    CAPTURE(c.name);
    const double p = c.params.at("p");
    const bool training = c.params.at("training");
    Tensor x = c.input("x");
    Generator g(7);
    Tensor y = nn::dropout(x, p, training, g);
    if (!training) {
      test::check_case(c, y, {{"x", x}});  // the identity, forward and backward
      continue;
    }
    Tensor gy = c.tensor("grad_out");
    y.backward(gy);
    const double torch_rate = check_contract("torch", c.tensor("in.x"), c.tensor("out"), gy, c.tensor("grad.x"), p);
    const double hemo_rate = check_contract("hemo", x, y, gy, x.grad(), p);
    const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(x.numel()));
    CHECK_MESSAGE(std::fabs(torch_rate - (1 - p)) <= 5 * sigma, "torch keeps ", torch_rate);
    CHECK_MESSAGE(std::fabs(hemo_rate - (1 - p)) <= 5 * sigma, "hemo keeps ", hemo_rate);
  }
}
