#include "opcases/conv_case.h"

#include "nn/ops_conv.h"

namespace hemo::opcases {

namespace {
Shapes shapes_of(const ConvGeometry& g, const ConvSample& s) {
  const int64_t c = s.x.at(1), groups = g.depthwise ? c : g.groups, k = g.depthwise ? c : s.out_channels;
  Shapes out{s.x, Shape{k, c / groups, g.kernel[0], g.kernel[1]}};
  if (g.bias) out.push_back(Shape{k});
  return out;
}
}  // namespace

void add_conv(const std::string& name, const ConvGeometry& g, const std::vector<ConvSample>& samples,
              const ConvSample& bench, Tolerances tol) {
  OpCase c;
  c.name = name;
  c.inputs = {arg("x"), arg("w")};
  c.inputs[0].grad = g.x_grad;
  if (g.bias) c.inputs.push_back(arg("b"));
  for (const ConvSample& s : samples) c.samples.push_back(shapes_of(g, s));
  c.bench = shapes_of(g, bench);
  c.forward = [g](const std::vector<Tensor>& in) {
    const int64_t groups = g.depthwise ? in[0].shape().at(1) : g.groups;
    return nn::conv2d(in[0], in[1], g.bias ? in[2] : Tensor(), g.stride, g.padding, g.dilation, groups);
  };
  c.torch = cat("F.conv2d(x, w, ", g.bias ? "b" : "None", ", stride=", py_pair(g.stride[0], g.stride[1]),
                ", padding=", py_pair(g.padding[0], g.padding[1]), ", dilation=", py_pair(g.dilation[0], g.dilation[1]),
                ", groups=", g.depthwise ? "x.shape[1]" : cat(g.groups), ")");
  c.tol = tol;
  c.cost = [](const Shapes& in, const Shape& out, size_t elem_bytes) {
    Cost cost = elementwise_cost(in, out, elem_bytes);
    const Shape& w = in[1];
    cost.flops = 2.0 * static_cast<double>(shape_numel(out)) * static_cast<double>(w[1] * w[2] * w[3]);
    return cost;
  };
  add(std::move(c));
}

}  // namespace hemo::opcases
