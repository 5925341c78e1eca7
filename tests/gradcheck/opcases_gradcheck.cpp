// Every registered op case (opcases/registry.h): float64 central differences against autograd
// (tests/support/gradcheck.h) for each input that takes a gradient, on every sample small enough
// (at most kMaxElements input elements; a case must have one). Kinks are skipped only in cases
// marked `kinks`.
#include "tests/support/gradcheck.h"
#include "tests/support/opcases.h"

using namespace hemo;
using namespace hemo::opcases;

namespace {
constexpr size_t kMaxElements = 2000;
}  // namespace

TEST_CASE("gradcheck: every op case, float64 central differences against autograd") {
  test::for_each_case(Check::gradcheck, [](const OpCase& c) {
    test::GradcheckOptions opt;
    for (const InputSpec& in : c.inputs) opt.check.push_back(in.grad);
    if (std::find(opt.check.begin(), opt.check.end(), true) == opt.check.end()) return;  // nothing differentiable
    opt.tol = c.tol.grad;
    opt.max_skipped = c.kinks ? 0.25 : 0.0;
    test::Worst worst{Check::gradcheck, c.name};
    for (size_t i = 0; i < c.samples.size(); ++i) {
      if (test::sample_numel(c.samples[i]) > kMaxElements) continue;
      std::vector<Tensor> in = make_inputs(c, c.samples[i], DType::f64, Device::cpu(), false);
      worst.worst = std::max(worst.worst, test::gradcheck(test::sample_label(c, i, c.samples[i]), c.forward, in, opt));
      ++worst.samples;
    }
    CHECK_MESSAGE(worst.samples > 0, c.name, ": no sample has at most ", kMaxElements, " elements to gradcheck");
    worst.print();
  });
}
