// conv_epilogue (kernels/conv_epilogue.h): a convolution with the eval batch norm, residual and
// ReLU/ReLU6 after it, as one nn::conv2d_fused. An inference-only op (no backward): every input
// is drawn without a gradient and gradcheck has nothing to check. Dense 3x3 with batch norm and
// ReLU6 (a batch whose CPU GEMM runs in chunks, so the epilogue meets a residual offset), 1x1 with
// bias, residual and ReLU (a folded ResNet block end), and depthwise at stride 2 (MobileNetV2's).
#include "nn/ops_conv.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

struct Form {
  int64_t kernel = 3, stride = 1, pad = 1;
  bool depthwise = false, bias = false, bn = false, residual = false;
  BnAct act = BnAct::none;
};

InputSpec no_grad(InputSpec in) {
  in.grad = false;
  return in;
}

// x, w, [bias], [gamma, beta, running_mean, running_var], [r] for x of `x` and k outputs.
Shapes shapes_of(const Form& f, const Shape& x, int64_t k) {
  const int64_t c = x.at(1), out = f.depthwise ? c : k, cg = f.depthwise ? 1 : c;
  const int64_t p = (x.at(2) + 2 * f.pad - f.kernel) / f.stride + 1, q = (x.at(3) + 2 * f.pad - f.kernel) / f.stride + 1;
  Shapes s{x, Shape{out, cg, f.kernel, f.kernel}};
  if (f.bias) s.push_back(Shape{out});
  if (f.bn)
    for (int i = 0; i < 4; ++i) s.push_back(Shape{out});
  if (f.residual) s.push_back(Shape{x.at(0), out, p, q});
  return s;
}

void add_form(const std::string& name, const Form& f, const std::vector<std::pair<Shape, int64_t>>& samples,
              const std::pair<Shape, int64_t>& bench) {
  OpCase c;
  c.name = "conv_epilogue." + name;
  c.inputs = {no_grad(arg("x")), no_grad(arg("w"))};
  if (f.bias) c.inputs.push_back(no_grad(arg("b")));
  if (f.bn) {
    c.inputs.push_back(no_grad(arg("gamma", 0.5, 2.0)));
    c.inputs.push_back(no_grad(arg("beta")));
    c.inputs.push_back(no_grad(arg("running_mean")));
    c.inputs.push_back(constant("running_var", 0.5, 1.5));
  }
  if (f.residual) c.inputs.push_back(no_grad(arg("r")));
  for (const auto& [x, k] : samples) c.samples.push_back(shapes_of(f, x, k));
  c.bench = shapes_of(f, bench.first, bench.second);
  c.forward = [f](const std::vector<Tensor>& in) {
    nn::ConvEpilogueArgs e;
    size_t i = 2;
    if (f.bias) e.bias = in[i++];
    if (f.bn) {
      e.bn_weight = in[i], e.bn_bias = in[i + 1], e.running_mean = in[i + 2], e.running_var = in[i + 3];
      i += 4;
    }
    if (f.residual) e.residual = in[i];
    e.act = f.act;
    return nn::conv2d_fused(in[0], in[1], e, {f.stride, f.stride}, {f.pad, f.pad}, {1, 1},
                            f.depthwise ? in[0].shape().at(1) : 1);
  };
  std::string t = cat("F.conv2d(x, w, ", f.bias ? "b" : "None", ", stride=", f.stride, ", padding=", f.pad,
                      ", groups=", f.depthwise ? "x.shape[1]" : "1", ")");
  if (f.bn) t = cat("F.batch_norm(", t, ", running_mean, running_var, gamma, beta, False, 0.0, 1e-05)");
  if (f.residual) t = cat(t, " + r");
  if (f.act != BnAct::none) t = cat("F.", bn_act_name(f.act), "(", t, ")");
  c.torch = t;
  c.kinks = f.act != BnAct::none;
  c.skip[Check::gradcheck] = "an inference-only op: nn::conv2d_fused has no backward";
  c.tol.cuda_fwd = 3e-4;  // cuDNN's algorithms (Winograd, FFT) round more, as conv2d's cases
  c.cost = [](const Shapes& in, const Shape& out, size_t elem_bytes) {
    Cost cost = elementwise_cost(in, out, elem_bytes);  // each input and the output once: fused
    const Shape& w = in[1];
    cost.flops = 2.0 * static_cast<double>(shape_numel(out)) * static_cast<double>(w[1] * w[2] * w[3]);
    return cost;
  };
  add(std::move(c));
}

const Registrar reg([] {
  add_form("3x3.bn_relu6", {.bn = true, .act = BnAct::relu6},
           {{{2, 3, 5, 6}, 4}, {{3, 5, 7, 13}, 6}, {{150, 3, 6, 6}, 4}}, {{8, 64, 56, 56}, 64});
  add_form("1x1.bias_add_relu", {.kernel = 1, .pad = 0, .bias = true, .residual = true, .act = BnAct::relu},
           {{{2, 3, 5, 6}, 4}, {{3, 8, 9, 9}, 12}}, {{8, 64, 56, 56}, 256});
  add_form("depthwise.stride2.bn_relu6", {.stride = 2, .depthwise = true, .bn = true, .act = BnAct::relu6},
           {{{2, 3, 6, 5}, 0}, {{3, 8, 9, 9}, 0}}, {{8, 144, 56, 56}, 0});
});

}  // namespace
}  // namespace hemo::opcases
