// gradcam (kernels/gradcam.h): Grad-CAM's steps through nn/ops_gradcam.h, none differentiable:
// channel weights of both methods (activations positive as after a ReLU, and signed as after a
// hardswish), the weighted sum + ReLU, per-image min-max normalization (a flat image becomes 0;
// bit for bit on the GPU), and the bilinear resize up and down (3-d and 4-d, from one pixel, to
// the model input sizes). Torch's side is tools/gradcam_torch.py.
#include "nn/ops_gradcam.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const std::vector<Shape> kMaps = {{3, 11, 7, 13}, {2, 5, 1, 1}, {1, 5, 1, 1}, {2, 3, 30, 30}, {4, 64, 16, 16},
                                  {2, 2048, 7, 7}};
const Shape kBenchMaps{2, 1280, 7, 7};  // MobileNetV2's last feature maps

OpCase cam_case(const std::string& name, std::vector<InputSpec> inputs, Forward f, std::string torch) {
  OpCase c;
  c.name = "gradcam." + name;
  c.inputs = std::move(inputs);
  for (InputSpec& in : c.inputs) in.grad = false;
  c.forward = std::move(f);
  c.torch = std::move(torch);
  c.tol.cuda_fwd = 1e-6;
  return c;
}

void add_weights(CamMethod m, bool signed_act) {
  const std::string method = cam_method_name(m);
  OpCase c = cam_case(cat("weights.", method, signed_act ? ".signed_act" : ""),
                      {signed_act ? arg("act") : constant("act", 0.0, 2.0), arg("grad")},
                      [m](const auto& in) { return nn::cam_weights(m, in[0], in[1]); },
                      cat("gc.cam_weights('", method, "', act, grad)"));
  for (const Shape& s : kMaps) c.samples.push_back({s, s});
  c.bench = {kBenchMaps, kBenchMaps};
  add(std::move(c));
}

void add_resize(int64_t oh, int64_t ow) {
  OpCase c = cam_case(cat("resize_bilinear.", oh, "x", ow), {arg("x")},
                      [oh, ow](const auto& in) { return nn::resize_bilinear(in[0], oh, ow); },
                      cat("resize_bilinear(x, ", oh, ", ", ow, ")"));
  c.samples = each({{3, 5, 7, 13}, {2, 3, 13, 7}, {2, 1, 1, 1}, {3, 7, 13}, {2, 64, 48}});
  c.bench = {{8, 7, 7}};
  add(std::move(c));
}

const Registrar reg([] {
  for (CamMethod m : {CamMethod::gradcam, CamMethod::gradcampp})
    for (bool signed_act : {false, true}) add_weights(m, signed_act);
  OpCase sum = cam_case("weighted_sum_relu", {constant("act", 0.0, 2.0), arg("weights")},
                        [](const auto& in) { return nn::cam_weighted_sum_relu(in[0], in[1]); },
                        "gc.weighted_sum_relu(act, weights)");
  for (const Shape& s : kMaps) sum.samples.push_back({s, {s[0], s[1]}});
  sum.bench = {kBenchMaps, {2, 1280}};
  add(std::move(sum));
  const Forward normalize = [](const auto& in) { return nn::cam_normalize(in[0]); };
  OpCase norm = cam_case("normalize", {constant("x", 0.0, 2.0)}, normalize, "gc.normalize(x)");
  norm.samples = each({{3, 7, 13}, {2, 1, 1}, {4, 16, 16}, {2, 30, 30}});
  norm.bench = {{2, 224, 224}};
  norm.tol.cuda_fwd = 0;  // min, max and each (x - min) / range are exact
  add(std::move(norm));
  // A flat image (all 0.25) before one that is not.
  std::vector<double> flat(2 * 40 * 40, 0.25);
  for (size_t i = flat.size() / 2; i < flat.size(); ++i) flat[i] = static_cast<double>(i % 37);
  OpCase norm_flat = cam_case("normalize.flat_image", {fixed("x", flat)}, normalize, "gc.normalize(x)");
  norm_flat.samples = each({{2, 40, 40}});
  norm_flat.bench = {{2, 40, 40}};
  norm_flat.skip[Check::bench] = "the same op as gradcam.normalize";
  norm_flat.tol.cuda_fwd = 0;
  add(std::move(norm_flat));
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{17, 29}, {4, 5}, {13, 15}, {9, 9}, {7, 13}, {100, 100}, {224, 224},
                        {224, 100}})
    add_resize(oh, ow);
});

}  // namespace
}  // namespace hemo::opcases
