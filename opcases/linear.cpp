// linear (kernels/linear.h): y = x W^T + b through nn::linear, with and without bias, leading
// dimensions, a size spanning several GEMM tiles and k panels, the classifier's 1280 features,
// and an empty feature dimension.
#include "nn/ops_linear.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

struct Sample {
  Shape x;
  int64_t out;
};

void add_linear(bool bias, const std::vector<Sample>& samples) {
  auto shapes = [bias](const Sample& s) {
    Shapes out{s.x, Shape{s.out, s.x.back()}};
    if (bias) out.push_back(Shape{s.out});
    return out;
  };
  OpCase c;
  c.name = bias ? "linear" : "linear.nobias";
  c.inputs = {arg("x"), arg("w")};
  if (bias) c.inputs.push_back(arg("b"));
  for (const Sample& s : samples) c.samples.push_back(shapes(s));
  c.bench = shapes({{64, 1280}, 1000});
  c.forward = [bias](const std::vector<Tensor>& in) { return nn::linear(in[0], in[1], bias ? in[2] : Tensor()); };
  c.torch = bias ? "F.linear(x, w, b)" : "F.linear(x, w)";
  c.cost = [](const Shapes& in, const Shape& out, size_t elem_bytes) {
    Cost cost = elementwise_cost(in, out, elem_bytes);
    cost.flops = 2.0 * static_cast<double>(shape_numel(out)) * static_cast<double>(in[1][1]);
    return cost;
  };
  add(std::move(c));
}

const Registrar reg([] {
  add_linear(true, {{{3, 5}, 4}, {{2, 3, 5}, 4}, {{3, 13}, 10}, {{3, 7, 13}, 10}, {{37, 300}, 130}, {{1, 1280}, 8},
                    {{2, 3, 33}, 17}, {{5, 0}, 4}});
  add_linear(false, {{{3, 5}, 4}, {{3, 13}, 10}, {{64, 1280}, 8}});
});

}  // namespace
}  // namespace hemo::opcases
