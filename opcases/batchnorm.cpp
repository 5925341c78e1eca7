// batchnorm (kernels/batchnorm.h): nn::batch_norm in training (batch statistics) and eval (running
// statistics), with and without the affine parameters, without running statistics, MobileNetV3's
// eps and momentum, 2-d [N, C] inputs, the running statistics a training step leaves behind, and
// the fused ReLU / ReLU6 (".relu", ".relu6": torch's F.relu6(F.batch_norm(...))), and the fused
// residual before it (".add": F.relu(F.batch_norm(...) + r), ResNet's block end; r is x's shape).
// ".sums": the training statistics from x's channel sums handed in (nn::batch_norm's `sums`, as
// a convolution's cuDNN graph computes them on CUDA), here summed from x by nn::sum in the op's
// own precision (float64 in gradcheck), detached: the same function of x, so every check applies.
// Inputs sit off (0, 1) so the statistics matter; forward copies the running statistics, which
// training updates in place.
#include "nn/ops_elementwise.h"
#include "nn/ops_norm.h"
#include "nn/ops_reduce.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

struct Variant {
  bool training, affine = true, running = true;
  double momentum = 0.1, eps = 1e-5;
  int stat = -1;  // 0 / 1: the output is the updated running mean / variance instead of y
  BnAct act = BnAct::none;  // fused activation (nn/fusion.h)
  bool residual = false;    // fused residual r added before act (nn::batch_norm's residual)
  bool sums = false;        // statistics from x's channel sums (nn::batch_norm's sums)
};

// x's per-channel sum and sum of squares (x [N, C, ...]), detached.
nn::ChannelSums channel_sums(const Tensor& x_any) {
  const Tensor x = x_any.detach().contiguous();
  auto per_channel = [](Tensor t) {
    t = nn::sum(t, 0);  // [C, ...]
    while (t.dim() > 1) t = nn::sum(t, -1);
    return t;
  };
  return {per_channel(x), per_channel(nn::mul(x, x))};
}

const std::vector<Shape> kShapes = {{3, 4, 3, 5}, {5, 4}, {3, 5, 7, 13}, {3, 11}, {7, 3}, {3, 13, 7, 13}};
// Two values per channel (the variance's M / (M - 1) at its extreme), one per row of a block, and
// many rounds of the block's loops: for the cuda check. [M, C] with M over 128 and a short last
// chunk, and more chunks than one block of the [M, C] kernels takes (kernels/cuda/batchnorm_rows.h).
const std::vector<Shape> kDeviceShapes = {{2, 17, 1, 1}, {1, 6, 2, 1},  {4, 33, 28, 28},
                                          {16, 7, 56, 57}, {300, 37},    {1200, 5}};

std::string name_of(const Variant& v) {
  std::string n = v.training ? "batchnorm.train" : "batchnorm.eval";
  if (!v.affine) n += ".noaffine";
  if (!v.running) n += ".norunning";
  if (v.eps != 1e-5) n += cat(".eps", v.eps);
  if (v.stat >= 0) n += v.stat == 0 ? ".running_mean" : ".running_var";
  if (v.sums) n += ".sums";
  if (v.residual) n += ".add";
  if (v.act != BnAct::none) n += cat(".", bn_act_name(v.act));
  return n;
}

void add_bn(const Variant& v) {
  OpCase c;
  c.name = name_of(v);
  c.inputs = {arg("x", -1.5, 3.5)};
  c.inputs[0].init = Init::uniform;
  if (v.affine) c.inputs.insert(c.inputs.end(), {arg("weight", 0.5, 2.0), arg("bias")});
  if (v.running) c.inputs.insert(c.inputs.end(), {constant("running_mean", -1, 1), constant("running_var", 0.5, 1.5)});
  if (v.residual) c.inputs.push_back(arg("r", 0.1, 2.0));  // last: x's shape
  auto shapes = [&](const Shape& x) {
    Shapes s(c.inputs.size(), Shape{x[1]});
    s[0] = x;
    if (v.residual) s.back() = x;
    return s;
  };
  for (const Shape& x : kShapes) c.samples.push_back(shapes(x));
  for (const Shape& x : kDeviceShapes) c.cuda_samples.push_back(shapes(x));
  c.bench = shapes({2, 96, 56, 56});
  c.forward = [v](const std::vector<Tensor>& in) {
    Tensor none, w = v.affine ? in[1] : none, b = v.affine ? in[2] : none;
    const size_t r = v.affine ? 3 : 1;
    Tensor rm = v.running ? in[r].clone() : none, rv = v.running ? in[r + 1].clone() : none;
    const nn::ChannelSums sums = v.sums ? channel_sums(in[0]) : nn::ChannelSums();
    Tensor y = nn::batch_norm(in[0], w, b, rm, rv, v.training, v.momentum, v.eps, v.act, v.residual ? in.back() : none,
                              &sums);
    return v.stat < 0 ? y : v.stat == 0 ? rm : rv;
  };
  const std::string w = v.affine ? "weight, bias" : "None, None";
  if (v.stat >= 0) {  // tests/parity/opcase_torch.py: the running statistics after one training step
    c.torch = cat("bn_running(x, ", w, ", running_mean, running_var, ", v.momentum, ", ", v.eps, ")[", v.stat, "]");
    for (InputSpec& in : c.inputs) in.grad = false;
  } else {
    const std::string rs = v.running ? "running_mean.clone(), running_var.clone()" : "None, None";
    c.torch = cat("F.batch_norm(x, ", rs, ", ", w, ", ", v.training ? "True" : "False", ", ", v.momentum, ", ", v.eps,
                  ")");
    if (v.residual) c.torch = cat(c.torch, " + r");
    if (v.act != BnAct::none) c.torch = cat("F.", bn_act_name(v.act), "(", c.torch, ")");
  }
  if (v.act != BnAct::none) {
    c.kinks = true;  // the activation's
    c.bench = shapes({8, 96, 56, 56});  // activation.relu6's bench shape: the fused op against the two
  }
  if (v.sums)  // on CUDA a convolution's graph sums for free; here the forward sums x itself
    c.skip[Check::bench] = "its forward sums x with nn::sum first, which timing would count as batch norm's";
  c.tol.cuda_fwd = 2e-6;
  c.tol.cuda_bwd = 2e-5;
  add(std::move(c));
}

const Registrar reg([] {
  for (bool training : {true, false}) {
    add_bn({.training = training});
    add_bn({.training = training, .affine = false});
    add_bn({.training = training, .momentum = 0.01, .eps = 1e-3});
  }
  add_bn({.training = true, .running = false});
  // Fused activations: bit for bit batch norm then the activation (tests/unit/fusion_test.cpp); here
  // against torch, the float64 gradient and the emulated CUDA kernels.
  for (BnAct act : {BnAct::relu, BnAct::relu6}) {
    add_bn({.training = true, .act = act});
    add_bn({.training = false, .act = act});
  }
  add_bn({.training = true, .affine = false, .act = BnAct::relu6});
  add_bn({.training = true, .running = false, .act = BnAct::relu});
  // The fused residual (ResNet's relu(bn(x) + shortcut); bit for bit against the three ops in
  // tests/unit/fusion_test.cpp), with each activation, in both modes, and without an activation.
  for (BnAct act : {BnAct::relu, BnAct::relu6})
    for (bool training : {true, false}) add_bn({.training = training, .act = act, .residual = true});
  add_bn({.training = true, .act = BnAct::none, .residual = true});
  // Statistics from channel sums (a training convolution's cuDNN graph, nn/fusion.h), plain and
  // with the residual and activation of a ResNet block's end, and the running variance they leave.
  add_bn({.training = true, .sums = true});
  add_bn({.training = true, .act = BnAct::relu6, .residual = true, .sums = true});
  add_bn({.training = true, .affine = false, .act = BnAct::relu, .sums = true});
  add_bn({.training = true, .stat = 1, .sums = true});
  for (int stat : {0, 1}) {
    add_bn({.training = true, .stat = stat});
    add_bn({.training = true, .momentum = 0.01, .eps = 1e-3, .stat = stat});
  }
});

}  // namespace
}  // namespace hemo::opcases
