// elementwise (kernels/elementwise.h): add, mul, scale, and mul's per-channel broadcast (the
// squeeze-excitation gate, [N, C, 1, 1] or [N, C], over a [N, C, H, W] feature map).
#include "nn/ops_elementwise.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const std::vector<Shape> kShapes = {{3, 5, 2, 3}, {1}, {3, 5, 7, 13}};

OpCase binary(const std::string& name, Forward f, const std::string& torch) {
  OpCase c;
  c.name = name;
  c.inputs = {arg("a"), arg("b")};
  for (const Shape& s : kShapes) c.samples.push_back({s, s});
  c.bench = {{8, 96, 56, 56}, {8, 96, 56, 56}};
  c.forward = std::move(f);
  c.torch = torch;
  c.tol.cuda_fwd = c.tol.cuda_bwd = 0;  // one rounding per element on both devices
  return c;
}

// a [N, C, H, W] times b [N, C, 1, 1] (or [N, C] when flat).
OpCase gate(bool flat) {
  OpCase c = binary(flat ? "elementwise.mul.channel_gate_nc" : "elementwise.mul.channel_gate",
                    [](const std::vector<Tensor>& in) { return nn::mul(in[0], in[1]); },
                    flat ? "a * b[:, :, None, None]" : "a * b");
  c.samples.clear();
  for (const Shape& s : {Shape{3, 5, 2, 3}, Shape{3, 5, 7, 13}, Shape{8, 96, 28, 28}, Shape{2, 1, 1, 1}})
    c.samples.push_back({s, flat ? Shape{s[0], s[1]} : Shape{s[0], s[1], 1, 1}});
  c.bench = {{8, 144, 28, 28}, flat ? Shape{8, 144} : Shape{8, 144, 1, 1}};
  c.tol.cuda_bwd = 1e-6;  // the gate's gradient sums H x W products
  return c;
}

const Registrar reg([] {
  add(binary("elementwise.add", [](const std::vector<Tensor>& in) { return nn::add(in[0], in[1]); }, "a + b"));
  add(binary("elementwise.mul", [](const std::vector<Tensor>& in) { return nn::mul(in[0], in[1]); }, "a * b"));
  OpCase s = binary("elementwise.scale", [](const std::vector<Tensor>& in) { return nn::scale(in[0], -2.5); },
                    "-2.5 * a");
  s.inputs.pop_back();
  for (Shapes& sample : s.samples) sample.pop_back();
  s.bench.pop_back();
  add(std::move(s));
  add(gate(false));
  add(gate(true));
});

}  // namespace
}  // namespace hemo::opcases
