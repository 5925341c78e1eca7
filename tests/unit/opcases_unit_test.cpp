// Every registered op case (opcases/registry.h): the registry is well formed, the float32 forward
// matches the float64 one on every sample (the same values, rounded to float32 first), and every
// case runs at its bench shapes with a positive cost.
#include <filesystem>

#include "tensor/autograd.h"
#include "tests/support/opcases.h"

using namespace hemo;
using namespace hemo::opcases;

TEST_CASE("opcases: every case names its kernel header, has samples and a torch reference or a reason") {
  namespace fs = std::filesystem;
  CHECK(registry().size() > 100);
  for (const OpCase& c : registry()) {
    CAPTURE(c.name);
    const std::string header = c.name.substr(0, c.name.find('.')) + ".h";
    CHECK_MESSAGE((fs::exists(fs::path(HEMO_SOURCE_DIR) / "kernels" / header) ||
                   fs::exists(fs::path(HEMO_SOURCE_DIR) / "tensor" / header)),
                  c.name, ": no kernels/", header, " or tensor/", header);
    CHECK(!c.samples.empty());
    for (const Shapes& s : c.samples) CHECK(s.size() == c.inputs.size());
    for (const Shapes& s : c.cuda_samples) CHECK(s.size() == c.inputs.size());
    CHECK(c.bench.size() == c.inputs.size());
    CHECK(static_cast<bool>(c.forward));
    CHECK_MESSAGE((!c.torch.empty() || !c.runs(Check::parity)), c.name, ": no torch expression and no reason");
    for (const auto& [check, reason] : c.skip) CHECK_MESSAGE(!reason.empty(), c.name, " skips ", check_name(check));
  }
  CHECK(find_case("conv2d.3x3") != nullptr);
  CHECK(find_case("no.such.case") == nullptr);
  CHECK(cases_of("depthwise_conv2d").size() >= 8);
}

TEST_CASE("opcases unit: the float32 forward matches float64 on every sample") {
  test::for_each_case(Check::unit, [](const OpCase& c) {
    test::Worst worst{Check::unit, c.name};
    NoGradGuard no_grad;
    for (size_t i = 0; i < c.samples.size(); ++i) {
      std::vector<Tensor> in32 = make_inputs(c, c.samples[i], DType::f32, Device::cpu(), false), in64;
      for (const Tensor& t : in32) in64.push_back(t.to(DType::f64));
      Tensor y32 = c.forward(in32), y64 = c.forward(in64);
      CHECK(y32.dtype() == DType::f32);
      worst.close(y32, y64, c.tol.unit, test::sample_label(c, i, c.samples[i]) + " float32 forward");
      ++worst.samples;
    }
    worst.print();
  });
}

TEST_CASE("opcases bench: every case runs at its bench shapes and has a positive cost") {
  test::for_each_case(Check::bench, [](const OpCase& c) {
    NoGradGuard no_grad;
    Tensor y = c.forward(make_inputs(c, c.bench, DType::f32, Device::cpu(), false));
    const Cost cost = c.cost(c.bench, y.shape(), dtype_size(DType::f32));
    CHECK_MESSAGE(cost.flops > 0, c.name, ": no FLOPs at the bench shapes");
    CHECK_MESSAGE(cost.bytes > 0, c.name, ": no bytes at the bench shapes");
  });
}
