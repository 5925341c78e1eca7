// layernorm (kernels/layernorm.h): nn::layer_norm over the channels of NCHW maps (ConvNeXt's
// LayerNorm2d, eps 1e-6) and of [N, C] rows (LayerNorm(C)), with and without the affine
// parameters. Inputs sit off (0, 1) so the statistics matter.
#include "nn/ops_norm.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const std::vector<Shape> kShapes = {{2, 5, 3, 4}, {4, 7}, {1, 3, 5, 2}, {3, 4, 2, 2}};
// (No 1- or 2-channel sample here: there xhat is 0 or +-1 up to eps, and the input gradient is a
// cancellation down to eps-sized terms that float32 cannot resolve, nor a relative tolerance judge.)
// Many positions per launch and many channels per position, and a single channel (xhat = 0), for
// the device check, which compares the same float32 arithmetic on both sides.
const std::vector<Shape> kDeviceShapes = {{2, 96, 14, 14}, {5, 768}, {1, 1, 3, 3}, {3, 33, 17, 9}};

void add_ln(bool affine, double eps) {
  OpCase c;
  c.name = cat("layernorm.channels", affine ? "" : ".noaffine", eps != 1e-5 ? cat(".eps", eps) : "");
  c.inputs = {arg("x", -1.5, 3.5)};
  c.inputs[0].init = Init::uniform;
  if (affine) c.inputs.insert(c.inputs.end(), {arg("weight", 0.5, 2.0), arg("bias")});
  auto shapes = [&](const Shape& x) {
    Shapes s(c.inputs.size(), Shape{x[1]});
    s[0] = x;
    return s;
  };
  for (const Shape& x : kShapes) c.samples.push_back(shapes(x));
  for (const Shape& x : kDeviceShapes) c.cuda_samples.push_back(shapes(x));
  c.bench = shapes({2, 96, 56, 56});  // ConvNeXt-T's first stage, batch 2
  c.forward = [affine, eps](const std::vector<Tensor>& in) {
    Tensor none;
    return nn::layer_norm(in[0], affine ? in[1] : none, affine ? in[2] : none, eps);
  };
  c.torch = cat("F.layer_norm(x.movedim(1, -1), x.shape[1:2], ", affine ? "weight, bias" : "None, None", ", ", eps,
                ").movedim(-1, 1)");
  c.tol.cuda_fwd = 2e-6;
  c.tol.cuda_bwd = 2e-5;
  add(std::move(c));
}

const Registrar reg([] {
  add_ln(true, 1e-6);
  add_ln(true, 1e-5);
  add_ln(false, 1e-5);
});

}  // namespace
}  // namespace hemo::opcases
