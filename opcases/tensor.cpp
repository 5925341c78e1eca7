// tensor (tensor/tensor.h): the flatten and reshape views route gradients back to their elements;
// once through a nonlinear op on the new shape, so each element's gradient depends on where the
// view put it. The memory-format copies (kernels/layout.h) likewise: their values are compared in
// the logical order, so a copy that did not transpose, or transposed the wrong way, fails; the
// product with a contiguous second input runs in storage order on a channels-last first one.
#include "nn/ops_elementwise.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

void add_view(const std::string& name, Forward f, std::string torch) {
  OpCase c;
  c.name = "tensor." + name;
  c.inputs = {arg("x")};
  c.samples = each({{3, 2, 3, 5}, {3, 5, 7, 13}});
  c.bench = {{8, 1280, 7, 7}};
  c.forward = std::move(f);
  c.torch = std::move(torch);
  c.tol.cuda_fwd = c.tol.cuda_bwd = 0;
  add(std::move(c));
}

void add_layout(const std::string& name, std::vector<InputSpec> inputs, std::vector<Shapes> samples, Shapes bench,
                Forward f, std::string torch) {
  OpCase c;
  c.name = "tensor." + name;
  c.inputs = std::move(inputs);
  c.samples = std::move(samples);
  c.bench = std::move(bench);
  c.forward = std::move(f);
  c.torch = std::move(torch);
  c.tol.cuda_fwd = c.tol.cuda_bwd = 0;
  add(std::move(c));
}

Tensor rows(const Tensor& x) { return x.reshape({x.shape()[0] * x.shape()[1], -1}); }

const Registrar reg([] {
  add_view("flatten1", [](const auto& in) { return in[0].flatten(1); }, "x.flatten(1)");
  add_view("flatten2", [](const auto& in) { return in[0].flatten(2); }, "x.flatten(2)");
  add_view("reshape", [](const auto& in) { return rows(in[0]); }, "x.reshape(x.shape[0] * x.shape[1], -1)");
  add_view("reshape.squared", [](const auto& in) { return nn::mul(rows(in[0]), rows(in[0])); },
           "x.reshape(x.shape[0] * x.shape[1], -1) ** 2");
  add_layout("to_channels_last", {arg("x")}, each({{3, 2, 3, 5}, {2, 5, 7, 13}, {1, 33, 1, 65}}), {{8, 96, 56, 56}},
             [](const auto& in) { return in[0].to(MemoryFormat::channels_last); },
             "x.contiguous(memory_format=torch.channels_last)");
  add_layout("channels_last.mul", {arg("x"), arg("w")},
             {{{3, 2, 3, 5}, {3, 2, 3, 5}}, {{2, 37, 5, 34}, {2, 37, 5, 34}}}, {{8, 96, 56, 56}, {8, 96, 56, 56}},
             [](const auto& in) { return nn::mul(in[0].to(MemoryFormat::channels_last), in[1]); }, "x * w");
});

}  // namespace
}  // namespace hemo::opcases
