// Grad-CAM's steps against tools/gradcam_torch.py, and the bilinear resize against PyTorch's
// F.interpolate(mode="bilinear", align_corners=False) (cases in ref_gradcam.py).
#include "nn/ops_gradcam.h"
#include "tests/parity/parity.h"

using namespace hemo;

TEST_CASE("torch-parity: resize_bilinear is F.interpolate(bilinear, align_corners=False)") {
  for (const auto& c : test::load_cases("resize_bilinear")) {
    CAPTURE(c.name);
    Tensor x = c.input("x");
    test::check_case(c, nn::resize_bilinear(x, c.params.at("size").at(0), c.params.at("size").at(1)), {{"x", x}});
  }
}

TEST_CASE("torch-parity: Grad-CAM channel weights, weighted sum + ReLU, min-max normalization") {
  for (const auto& c : test::load_cases("cam_weights")) {
    CAPTURE(c.name);
    const CamMethod m = c.params.at("method") == "gradcam" ? CamMethod::gradcam : CamMethod::gradcampp;
    test::check_case(c, nn::cam_weights(m, c.input("act"), c.input("grad")), {});
  }
  for (const auto& c : test::load_cases("cam_weighted_sum_relu")) {
    CAPTURE(c.name);
    test::check_case(c, nn::cam_weighted_sum_relu(c.input("act"), c.input("weights")), {});
  }
  for (const auto& c : test::load_cases("cam_normalize")) {
    CAPTURE(c.name);
    test::check_case(c, nn::cam_normalize(c.input("x")), {});
  }
}
