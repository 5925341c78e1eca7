// reduce (kernels/reduce.h): sum and mean over every element (0-d results) and along each
// dimension, keepdim or not, negative dims.
#include "nn/ops_reduce.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const std::vector<Shape> kShapes = {{3, 4, 5}, {1}, {3, 5, 7, 13}, {2, 300, 3}};

// dim: the dimension, or nullopt-like INT64_MIN for the whole tensor.
constexpr int64_t kAll = INT64_MIN;

void add_reduce(bool mean, int64_t dim, bool keep) {
  OpCase c;
  const char* op = mean ? "mean" : "sum";
  c.name = cat("reduce.", op, dim == kAll ? "" : dim < 0 ? ".last" : cat(".dim", dim), keep ? ".keepdim" : "");
  c.inputs = {arg("x")};
  c.samples = each(rank_above(kShapes, dim == kAll ? 0 : dim));
  c.bench = {{8, 1280, 7, 7}};
  c.forward = [=](const std::vector<Tensor>& in) {
    if (dim == kAll) return mean ? nn::mean(in[0]) : nn::sum(in[0]);
    return mean ? nn::mean(in[0], dim, keep) : nn::sum(in[0], dim, keep);
  };
  c.torch = dim == kAll ? cat("x.", op, "()") : cat("x.", op, "(", dim, ", keepdim=", keep ? "True" : "False", ")");
  c.tol.cuda_fwd = 1e-6;
  c.tol.cuda_bwd = 0;  // a broadcast of the output gradient
  add(std::move(c));
}

const Registrar reg([] {
  for (bool mean : {false, true}) {
    add_reduce(mean, kAll, false);
    for (int64_t dim : {0, 1, 2, 3, -1})
      for (bool keep : {false, true}) add_reduce(mean, dim, keep);
  }
});

}  // namespace
}  // namespace hemo::opcases
