// softmax (kernels/softmax.h): softmax and log_softmax along every dimension (rows of up to 64
// run one per thread on the GPU, longer ones one per block; strided rows too), logits up to +-6,
// and up to +-100 where exp overflows float32 unless the maximum is subtracted.
#include "nn/ops_softmax.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const std::vector<Shape> kShapes = {{2, 3, 4, 5}, {1, 1}, {3, 11}, {3, 5, 7, 13}, {2, 100, 3}, {4, 1000}};

void add_softmax(bool log, int64_t dim, double scale) {
  OpCase c;
  c.name = cat("softmax.", log ? "log." : "", dim < 0 ? std::string("last") : cat("dim", dim),
               scale > 10 ? cat(".scale", scale) : "");
  c.inputs = {arg("x", 0.1, scale)};
  c.samples = each(rank_above(kShapes, dim));
  c.bench = {dim < 2 ? Shape{64, 1000} : Shape{4, 96, 28, 28}};
  c.forward = [log, dim](const std::vector<Tensor>& in) {
    return log ? nn::log_softmax(in[0], dim) : nn::softmax(in[0], dim);
  };
  c.torch = cat(log ? "F.log_softmax" : "F.softmax", "(x, ", dim, ")");
  c.tol.cuda_fwd = c.tol.cuda_bwd = 1e-6;
  add(std::move(c));
}

const Registrar reg([] {
  for (bool log : {false, true}) {
    for (int64_t dim : {0, 1, 2, 3, -1}) add_softmax(log, dim, 6.0);
    add_softmax(log, 1, 100.0);
  }
});

}  // namespace
}  // namespace hemo::opcases
