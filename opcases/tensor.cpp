// tensor (tensor/tensor.h): the flatten and reshape views route gradients back to their elements;
// once through a nonlinear op on the new shape, so each element's gradient depends on where the
// view put it.
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

Tensor rows(const Tensor& x) { return x.reshape({x.shape()[0] * x.shape()[1], -1}); }

const Registrar reg([] {
  add_view("flatten1", [](const auto& in) { return in[0].flatten(1); }, "x.flatten(1)");
  add_view("flatten2", [](const auto& in) { return in[0].flatten(2); }, "x.flatten(2)");
  add_view("reshape", [](const auto& in) { return rows(in[0]); }, "x.reshape(x.shape[0] * x.shape[1], -1)");
  add_view("reshape.squared", [](const auto& in) { return nn::mul(rows(in[0]), rows(in[0])); },
           "x.reshape(x.shape[0] * x.shape[1], -1) ** 2");
});

}  // namespace
}  // namespace hemo::opcases
