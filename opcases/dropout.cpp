// dropout (kernels/dropout.h): nn::dropout in training with the mask held fixed (a generator
// rebuilt in the same state on every call, first counter non-zero), p from 0.1 to 1, and eval.
// The CUDA mask is the same Philox stream as the CPU's, so the cuda check is bit for bit.
#include "nn/ops_dropout.h"
#include "opcases/builders.h"
#include "tensor/rng.h"

namespace hemo::opcases {
namespace {

void add_dropout(double p, bool training) {
  OpCase c;
  c.name = training ? cat("dropout.p", p) : std::string("dropout.eval");
  c.inputs = {arg("x")};
  c.samples = each({{3, 4, 5}, {1}, {3}, {3, 5, 7, 13}});
  c.bench = {{64, 1280}};
  c.forward = [p, training](const std::vector<Tensor>& in) {
    Generator g(7000, 3);
    g.reserve(5);
    return nn::dropout(in[0], p, training, g);
  };
  c.torch = cat("F.dropout(x, ", p, ", ", training ? "True" : "False", ")");
  if (training)
    c.skip[Check::parity] =
        "torch draws its mask from its own generator; the contract (survivors x / (1 - p), the backward "
        "reusing the mask, the keep rate) is in tests/unit/dropout_test.cpp and this case's gradcheck";
  c.tol.cuda_fwd = c.tol.cuda_bwd = 0;
  add(std::move(c));
}

const Registrar reg([] {
  for (double p : {0.1, 0.2, 0.5, 0.6, 0.9, 1.0}) add_dropout(p, true);
  add_dropout(0.5, false);
});

}  // namespace
}  // namespace hemo::opcases
