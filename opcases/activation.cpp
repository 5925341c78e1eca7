// activation (kernels/activation.h): relu, relu6, hardsigmoid, hardswish, sigmoid, silu, gelu through
// nn::activation, on inputs up to +-8 (both saturated sides of relu6, hardsigmoid and hardswish),
// and exactly on and around every kink (0, +-3, 6), where the derivative's convention decides.
#include "nn/ops_activation.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const char* torch_of(Activation a) {
  switch (a) {
    case Activation::relu: return "F.relu(x)";
    case Activation::relu6: return "F.relu6(x)";
    case Activation::hardsigmoid: return "F.hardsigmoid(x)";
    case Activation::hardswish: return "F.hardswish(x)";
    case Activation::sigmoid: return "torch.sigmoid(x)";
    case Activation::silu: return "F.silu(x)";
    case Activation::gelu: return "F.gelu(x)";
  }
  return "";
}

OpCase activation_case(Activation a, const std::string& variant, InputSpec x, std::vector<Shapes> samples) {
  OpCase c;
  c.name = cat("activation.", activation_name(a), variant);
  c.inputs = {std::move(x)};
  c.samples = std::move(samples);
  c.bench = {{8, 96, 56, 56}};
  c.forward = [a](const std::vector<Tensor>& in) { return nn::activation(a, in[0]); };
  c.torch = torch_of(a);
  c.kinks = a != Activation::sigmoid && a != Activation::silu && a != Activation::gelu;
  c.tol.cuda_fwd = c.tol.cuda_bwd = 1e-6;
  return c;
}

const Registrar reg([] {
  // float32-exact points on and beside the kinks (0, +-3, 6).
  const std::vector<double> kinks = {-7, -6, -3.0001f, -3, -2.9999f, -1, 0, 1e-7f, 1, 2.9999f, 3.0001f,
                                     5.9999f, 6, 6.0001f, 7, 9};
  const std::string on_kinks = "every point sits on or within 1e-4 of a kink";
  for (Activation a : {Activation::relu, Activation::relu6, Activation::hardsigmoid, Activation::hardswish,
                       Activation::sigmoid, Activation::silu, Activation::gelu}) {
    add(activation_case(a, "", arg("x", 0.05, 8.0),
                        each({{2, 3, 5, 7}, {1}, {3, 5, 7, 13}, {2, 19, 11}, {2, 11}})));
    OpCase k = activation_case(a, ".kinks", fixed("x", kinks), each({{16}}));
    k.skip[Check::gradcheck] = on_kinks;
    const std::string same_op = cat("the same op as activation.", activation_name(a));
    k.skip[Check::bench] = same_op;
    add(std::move(k));
    // +3 apart: torch's own CPU kernels disagree on hardswish's derivative there (vectorized 1,
    // scalar 3/2); hemo's convention is checked in tests/unit/activation_test.cpp.
    OpCase at3 = activation_case(a, ".at3", fixed("x", {3}), each({{1}}));
    at3.skip[Check::gradcheck] = on_kinks;
    at3.skip[Check::bench] = same_op;
    if (a == Activation::hardswish) at3.skip[Check::parity] = "torch's vectorized and scalar kernels disagree at +3";
    add(std::move(at3));
  }
});

}  // namespace
}  // namespace hemo::opcases
