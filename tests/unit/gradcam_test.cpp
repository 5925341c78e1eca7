// Grad-CAM kernels (kernels/gradcam.h) on hand-computed cases, the colour maps against
// matplotlib's tables, and the Module-level driver (nn/gradcam.h) on a global-average-pooling
// network, where Grad-CAM's weights are known in closed form (they are the classifier's weights
// over h*w: Grad-CAM reduces to CAM).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/gradcam.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_conv.h"
#include "nn/ops_gradcam.h"
#include "tensor/autograd.h"
#include "tests/support/expect.h"
#include "tests/support/random.h"

using namespace hemo;
using test::check_values;

TEST_CASE("cam_weights: Grad-CAM takes the gradient's spatial mean per channel") {
  // [N=2, C=2, 1x3]
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 1, 3});
  Tensor g = Tensor::from_vector<float>({0.5f, -1, 2, 3, 3, 3, -6, 0, 0, 0.25f, 0.5f, 0.75f}, {2, 2, 1, 3});
  Tensor w = nn::cam_weights(CamMethod::gradcam, a, g);
  CHECK(w.shape() == Shape{2, 2});
  check_values(w, {0.5, 3, -2, 0.5});
}

TEST_CASE("cam_weights: Grad-CAM++ closed form, zero for g <= 0 and for a vanishing denominator") {
  // Channel 0: A = [1, 2, 0, 1] (sum 4), g = [0.5, -1, 0.25, 0]:
  //   g = 0.5:  g^2 / (2 g^2 + 4 g^3) * g = 0.25 / (0.5 + 0.5) * 0.5      = 0.125
  //   g = 0.25: 0.0625 / (0.125 + 0.0625) * 0.25                          = 1/12
  //   g = -1 and g = 0 contribute nothing.                      w_0 = 0.125 + 1/12 = 5/24
  // Channel 1: A sums to -4, g = 0.5 everywhere: the denominator 0.5 - 4 * 0.125 is 0: w_1 = 0.
  Tensor a = Tensor::from_vector<double>({1, 2, 0, 1, -1, -1, -1, -1}, {1, 2, 2, 2});
  Tensor g = Tensor::from_vector<double>({0.5, -1, 0.25, 0, 0.5, 0.5, 0.5, 0.5}, {1, 2, 2, 2});
  check_values(nn::cam_weights(CamMethod::gradcampp, a, g), {5.0 / 24, 0}, 1e-12);
  // Grad-CAM on the same: the means.
  check_values(nn::cam_weights(CamMethod::gradcam, a, g), {-0.25 / 4, 0.5}, 1e-12);
}

TEST_CASE("cam_weighted_sum_relu and cam_normalize") {
  // [1, 2, 2x2]: weights (2, -1) -> 2 A_0 - A_1 = [1, -2, 4, 0] -> ReLU [1, 0, 4, 0].
  Tensor a = Tensor::from_vector<float>({1, 0, 3, 1, 1, 2, 2, 2}, {1, 2, 2, 2});
  Tensor w = Tensor::from_vector<float>({2, -1}, {1, 2});
  Tensor cam = nn::cam_weighted_sum_relu(a, w);
  CHECK(cam.shape() == Shape{1, 2, 2});
  check_values(cam, {1, 0, 4, 0});
  check_values(nn::cam_normalize(cam), {0.25, 0, 1, 0});
  // Per image; a flat image becomes all zeros (not NaN).
  Tensor two = Tensor::from_vector<float>({2, 4, 6, 10, 3, 3, 3, 3}, {2, 2, 2});
  check_values(nn::cam_normalize(two), {0, 0.25, 0.5, 1, 0, 0, 0, 0});
}

TEST_CASE("resize_bilinear: PyTorch's align_corners=False sampling, up and down") {
  // Width 2 -> 4: scale 1/2, source x = (dst + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75,
  // 1.25 (the right tap clamps to the last column).
  Tensor x = Tensor::from_vector<float>({0, 1}, {1, 1, 2});
  check_values(nn::resize_bilinear(x, 1, 4), {0, 0.25, 0.75, 1});
  // 4 -> 2: source x = 0.5 and 2.5, the means of neighbouring pairs.
  Tensor y = Tensor::from_vector<double>({1, 3, 10, 20}, {1, 4});
  check_values(nn::resize_bilinear(y, 1, 2), {2, 15}, 1e-12);
  // 2x2 -> 3x3: the centre samples source (0.5, 0.5), the mean of all four; leading dims kept.
  Tensor z = Tensor::from_vector<float>({0, 4, 8, 12, 1, 1, 1, 1}, {2, 1, 2, 2});
  Tensor r = nn::resize_bilinear(z, 3, 3);
  CHECK(r.shape() == Shape{2, 1, 3, 3});
  // Source coordinates per axis: -1/6 -> 0, 0.5, 7/6 -> i0 = 1, i1 = 1.
  check_values(r, {0, 2, 4, 4, 6, 8, 8, 10, 12, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  CHECK_THROWS_WITH_AS(nn::resize_bilinear(z, 0, 3), doctest::Contains("resize_bilinear"), Error);
}

TEST_CASE("colour maps: jet is matplotlib's exactly, turbo within 3/255 of matplotlib's table") {
  // matplotlib 3.11's colormaps['jet'](i) and colormaps['turbo'](i) (times 255) at table index i,
  // i.e. at the value i / 255.
  struct Ref {
    int index;
    double jet[3], turbo[3];
  };
  const Ref refs[] = {{0, {0, 0, 0.5}, {48.44, 18.30, 59.20}},
                      {26, {0, 0, 0.963458}, {69.11, 91.61, 206.95}},
                      {64, {0, 0.503922, 1}, {40.40, 187.56, 235.38}},
                      {100, {0.13599, 1, 0.831752}, {63.23, 245.88, 138.47}},
                      {128, {0.490196, 1, 0.477546}, {164.12, 252.45, 59.56}},
                      {191, {1, 0.596224, 0}, {251.40, 128.72, 34.09}},
                      {230, {0.945633, 0.029775, 0}, {195.01, 36.65, 2.65}},
                      {255, {0.5, 0, 0}, {122.30, 4.04, 2.69}}};
  for (const Ref& r : refs) {
    CAPTURE(r.index);
    Tensor v = Tensor::from_vector<float>({static_cast<float>(r.index) / 255.f}, {1});
    const std::vector<uint8_t> jet = nn::colormap(Colormap::jet, v), turbo = nn::colormap(Colormap::turbo, v);
    for (int c = 0; c < 3; ++c) {
      CAPTURE(c);
      CHECK(jet[static_cast<size_t>(c)] == static_cast<int>(std::floor(255 * r.jet[c] + 0.5)));
      CHECK(std::fabs(turbo[static_cast<size_t>(c)] - r.turbo[c]) <= 3.0);
    }
  }
  // Out of range values clamp; NaN shows as the lowest colour.
  Tensor v = Tensor::from_vector<float>({-1.f, 2.f, NAN}, {3});
  CHECK(nn::colormap(Colormap::jet, v) == std::vector<uint8_t>{0, 0, 128, 128, 0, 0, 0, 0, 128});
}

TEST_CASE("cam_overlay blends the colour over the image") {
  // Two 1x2 images; jet(0) = (0, 0, 127.5), jet(1) = (127.5, 0, 0).
  Tensor maps = Tensor::from_vector<float>({0, 1, 1, 0}, {2, 1, 2});
  const std::vector<uint8_t> images = {100, 50, 200, 10, 20, 30, 255, 255, 255, 0, 0, 0};
  CHECK(nn::cam_overlay(Colormap::jet, maps, images, 0.f) == images);
  // alpha 0.5: (image + colour) / 2, rounded half up: (100 + 0) / 2 = 50, (200 + 127.5) / 2 = 163.75.
  CHECK(nn::cam_overlay(Colormap::jet, maps, images, 0.5f) ==
        std::vector<uint8_t>{50, 25, 164, 69, 10, 15, 191, 128, 128, 0, 0, 64});
  CHECK(nn::cam_overlay(Colormap::jet, maps, images, 1.f) ==
        std::vector<uint8_t>{0, 0, 128, 128, 0, 0, 128, 0, 0, 0, 0, 128});
  CHECK_THROWS_WITH_AS(nn::cam_overlay(Colormap::jet, maps, std::vector<uint8_t>(5), 0.5f),
                       doctest::Contains("image bytes"), Error);
}

TEST_CASE("Module::remove_forward_hook removes that hook only") {
  nn::Identity m;
  int first = 0, second = 0;
  const size_t a = m.register_forward_hook([&](nn::Module&, const Tensor&) { ++first; });
  m.register_forward_hook([&](nn::Module&, const Tensor&) { ++second; });
  m(Tensor::zeros({1}));
  m.remove_forward_hook(a);
  m(Tensor::zeros({1}));
  CHECK(first == 1);
  CHECK(second == 2);
}

namespace {
// conv(3 -> 4, 3x3, pad 1) -> ReLU -> global average pool -> flatten -> linear(4 -> 5).
std::shared_ptr<nn::Sequential> gap_net(Generator& gen) {
  nn::Conv2d::Options o;
  o.padding = {1, 1};
  return nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Conv2d>(3, 4, o, gen), nn::make<nn::Act>(Activation::relu),
      nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1}), nn::make<nn::Flatten>(), nn::make<nn::Linear>(4, 5, true, gen)});
}
}  // namespace

TEST_CASE("grad_cam on a global-average-pooling network: the weights are the classifier's over h*w (CAM)") {
  Generator gen(11);
  auto net = gap_net(gen);
  net->eval();
  const int64_t n = 3, h = 7, w = 13;
  Tensor x = test::random_tensor({n, 3, h, w}, 5, DType::f32);
  auto& conv = static_cast<nn::Conv2d&>(*(*net)[0]);
  auto& fc = static_cast<nn::Linear&>(*(*net)[4]);
  // The activations, computed apart from the driver.
  Tensor a = nn::activation(Activation::relu, nn::conv2d(x, conv.weight, conv.bias, {1, 1}, {1, 1}));
  const std::vector<double> av = a.to_vector<double>(), fw = fc.weight.to_vector<double>();

  for (CamMethod method : {CamMethod::gradcam, CamMethod::gradcampp}) {
    CAPTURE(cam_method_name(method));
    nn::GradCamOptions opt;
    opt.method = method;
    opt.layer = "1";
    opt.classes = {4, 0, 2};
    nn::GradCamResult r = nn::grad_cam(*net, x, opt);
    CHECK(r.classes == opt.classes);
    CHECK(r.activations.shape() == Shape{n, 4, h, w});
    CHECK(r.maps.shape() == Shape{n, h, w});
    // dS/dA_kp = W[c, k] / hw everywhere.
    std::vector<double> want_w;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = opt.classes[static_cast<size_t>(i)];
      for (int64_t k = 0; k < 4; ++k) {
        const double g = fw[static_cast<size_t>(c * 4 + k)] / (h * w);
        if (method == CamMethod::gradcam) {
          want_w.push_back(g);
        } else {  // hw identical terms g / (2 + sum_A g), where g > 0
          double sum_a = 0;
          for (int64_t p = 0; p < h * w; ++p) sum_a += av[static_cast<size_t>((i * 4 + k) * h * w + p)];
          want_w.push_back(g > 0 ? h * w * g / (2 + sum_a * g) : 0);
        }
      }
    }
    check_values(r.weights, want_w, 1e-5);
    // The map: ReLU of the weighted sum, min-max normalized; at the input size already.
    std::vector<double> want_map;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> m(static_cast<size_t>(h * w));
      for (int64_t p = 0; p < h * w; ++p) {
        double s = 0;
        for (int64_t k = 0; k < 4; ++k)
          s += want_w[static_cast<size_t>(i * 4 + k)] * av[static_cast<size_t>((i * 4 + k) * h * w + p)];
        m[static_cast<size_t>(p)] = std::max(s, 0.0);
      }
      const auto [lo, hi] = std::minmax_element(m.begin(), m.end());
      const double mn = *lo, range = *hi - *lo;
      for (double v : m) want_map.push_back(range > 0 ? (v - mn) / range : 0);
    }
    check_values(r.maps, want_map, 1e-5);
    check_values(r.low_res, want_map, 1e-5);
  }
  // Nothing of the model changed: no parameter gradient, requires_grad restored.
  for (const auto& [name, p] : net->named_parameters()) {
    CAPTURE(name);
    CHECK(p.requires_grad());
    CHECK(!p.grad().defined());
  }
}

TEST_CASE("grad_cam: the predicted class by default, an output size, and clear errors") {
  Generator gen(12);
  auto net = gap_net(gen);
  net->eval();
  Tensor x = test::random_tensor({2, 3, 6, 6}, 6, DType::f32);
  nn::GradCamOptions opt;
  opt.layer = "1";
  opt.out_h = 10;
  opt.out_w = 4;
  nn::GradCamResult r = nn::grad_cam(*net, x, opt);
  const std::vector<float> logits = r.logits.to_vector<float>();
  for (int64_t i = 0; i < 2; ++i) {
    const auto row = logits.begin() + i * 5;
    CHECK(r.classes[static_cast<size_t>(i)] == std::max_element(row, row + 5) - row);
  }
  CHECK(r.maps.shape() == Shape{2, 10, 4});
  const std::vector<float> resized = nn::resize_bilinear(r.low_res, 10, 4).to_vector<float>();
  CHECK(r.maps.to_vector<float>() == resized);

  auto fails = [&](nn::GradCamOptions o, const char* message) {
    CHECK_THROWS_WITH_AS(nn::grad_cam(*net, x, o), doctest::Contains(message), Error);
  };
  auto options = [](std::string layer, std::vector<int64_t> classes = {}) {
    nn::GradCamOptions o;
    o.layer = std::move(layer);  // (assigning a literal trips GCC 12's false -Wrestrict)
    o.classes = std::move(classes);
    return o;
  };
  fails(options("7"), "no module named '7'");
  fails(options("4"), "convolutional feature map");  // the Linear: [N, 5]
  fails(options("1", {0, 5}), "class 5 for image 1 is out of range");
  fails(options("1", {0}), "1 classes given for 2 images");
  opt.classes.clear();
  net->train();
  fails(opt, "training mode");
  net->eval();
  {
    NoGradGuard no_grad;
    fails(opt, "recording is off");
  }
  // After the errors the hook is gone and the parameters are as before: a run still works.
  CHECK_NOTHROW(nn::grad_cam(*net, x, opt));
  for (const auto& [name, p] : net->named_parameters()) CHECK(p.requires_grad());
}
