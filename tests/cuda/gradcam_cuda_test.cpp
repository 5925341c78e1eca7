// CUDA Grad-CAM kernels against their CPU references (kernels/gradcam.h), through nn/ops_gradcam.h:
// channel weights of both methods, the weighted sum + ReLU, min-max normalization (bit for bit),
// the bilinear resize, the colour maps and the overlay (within one level of 255), and the whole
// driver on a small network when cuDNN is there.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "nn/gradcam.h"
#include "nn/layers.h"
#include "nn/ops_gradcam.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;

namespace {
// Up to one level of difference per byte (float rounding of the blend may differ by an ulp where
// the GPU contracts a multiply-add), and no more than 1 in 1000 bytes differing at all.
void check_bytes(const std::vector<uint8_t>& gpu_bytes, const std::vector<uint8_t>& cpu_bytes, const std::string& what) {
  REQUIRE(gpu_bytes.size() == cpu_bytes.size());
  size_t differ = 0, worst = 0;
  for (size_t i = 0; i < gpu_bytes.size(); ++i) {
    const size_t d = static_cast<size_t>(std::abs(int(gpu_bytes[i]) - int(cpu_bytes[i])));
    differ += d != 0;
    worst = std::max(worst, d);
  }
  CHECK_MESSAGE(worst <= 1, what, ": a byte differs by ", worst);
  CHECK_MESSAGE(differ * 1000 <= gpu_bytes.size(), what, ": ", differ, " of ", gpu_bytes.size(), " bytes differ");
}

Tensor positive(const Shape& s, uint64_t seed) { return random_positive(s, seed, DType::f32, 0.0, 2.0); }

const Shape kShapes[] = {{3, 11, 7, 13}, {2, 2048, 7, 7}, {1, 5, 1, 1}, {4, 64, 16, 16}, {2, 3, 30, 30}};
}  // namespace

TEST_CASE("cuda cam_weights (Grad-CAM and Grad-CAM++) match the CPU reference") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 7100;
  for (const Shape& s : kShapes) {
    for (CamMethod m : {CamMethod::gradcam, CamMethod::gradcampp}) {
      CAPTURE(shape_str(s));
      CAPTURE(cam_method_name(m));
      Tensor a = positive(s, ++seed), g = rand_f32(s, ++seed);
      Tensor w = nn::cam_weights(m, on_gpu(a), on_gpu(g));
      REQUIRE(w.is_cuda());
      expect_close(w.to(Device::cpu()), nn::cam_weights(m, a, g), 1e-6, "cam_weights");
    }
  }
}

TEST_CASE("cuda cam_weighted_sum_relu and cam_normalize match the CPU reference") {
  HEMO_REQUIRE_GPU();
  uint64_t seed = 7200;
  for (const Shape& s : kShapes) {
    CAPTURE(shape_str(s));
    Tensor a = positive(s, ++seed), w = rand_f32({s[0], s[1]}, ++seed);
    Tensor cam = nn::cam_weighted_sum_relu(on_gpu(a), on_gpu(w));
    expect_close(cam.to(Device::cpu()), nn::cam_weighted_sum_relu(a, w), 1e-6, "cam_weighted_sum_relu");
    // Min and max are exact, and so is each (x - min) / range: bit for bit.
    Tensor x = positive({s[0], s[2], s[3]}, ++seed);
    check_equal(nn::cam_normalize(on_gpu(x)).to(Device::cpu()), nn::cam_normalize(x), "cam_normalize");
  }
  // A flat image among others becomes zeros on both.
  std::vector<float> v(2 * 40 * 40, 0.25f);
  for (size_t i = 1600; i < v.size(); ++i) v[i] = static_cast<float>(i % 37);
  Tensor x = Tensor::from_vector(v, {2, 40, 40});
  check_equal(nn::cam_normalize(on_gpu(x)).to(Device::cpu()), nn::cam_normalize(x), "cam_normalize, flat image");
}

TEST_CASE("cuda resize_bilinear matches the CPU reference, up and down") {
  HEMO_REQUIRE_GPU();
  struct Case {
    Shape in;
    int64_t oh, ow;
  };
  const Case cases[] = {{{3, 7, 13}, 224, 100}, {{2, 1, 1}, 9, 9}, {{1, 2, 5, 5}, 160, 160}, {{2, 64, 48}, 7, 13}};
  uint64_t seed = 7300;
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.in));
    Tensor x = rand_f32(c.in, ++seed);
    expect_close(nn::resize_bilinear(on_gpu(x), c.oh, c.ow).to(Device::cpu()), nn::resize_bilinear(x, c.oh, c.ow), 1e-6,
                 "resize_bilinear");
  }
}

TEST_CASE("cuda colormap and cam_overlay match the CPU reference") {
  HEMO_REQUIRE_GPU();
  const int64_t n = 3, h = 37, w = 53;
  Generator gen(7400, 1);
  std::vector<float> values(static_cast<size_t>(n * h * w));
  for (float& v : values) v = static_cast<float>(gen.uniform(-0.1, 1.1));  // a few out of range
  values[5] = NAN;
  std::vector<uint8_t> images(values.size() * 3);
  for (uint8_t& b : images) b = static_cast<uint8_t>(gen.uniform(0, 256));
  Tensor maps = Tensor::from_vector(values, {n, h, w});
  for (Colormap cm : {Colormap::jet, Colormap::turbo}) {
    CAPTURE(colormap_name(cm));
    check_bytes(nn::colormap(cm, on_gpu(maps)), nn::colormap(cm, maps), "colormap");
    for (float alpha : {0.f, 0.35f, 0.5f, 1.f})
      check_bytes(nn::cam_overlay(cm, on_gpu(maps), images, alpha), nn::cam_overlay(cm, maps, images, alpha),
                  cat("cam_overlay alpha ", alpha));
  }
}

#if HEMO_WITH_CUDNN
TEST_CASE("cuda grad_cam of a small network matches the CPU run") {
  HEMO_REQUIRE_GPU();
  nn::Conv2d::Options o;
  o.padding = {1, 1};
  auto make_net = [&] {
    Generator gen(7500);
    auto net = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
        nn::make<nn::Conv2d>(3, 16, o, gen), nn::make<nn::Act>(Activation::relu), nn::make<nn::Conv2d>(16, 24, o, gen),
        nn::make<nn::Act>(Activation::relu), nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1}), nn::make<nn::Flatten>(),
        nn::make<nn::Linear>(24, 6, true, gen)});
    net->eval();
    return net;
  };
  auto cpu_net = make_net(), gpu_net = make_net();
  gpu_net->to(gpu());
  Tensor x = rand_f32({3, 3, 19, 23}, 7501);
  for (CamMethod m : {CamMethod::gradcam, CamMethod::gradcampp}) {
    CAPTURE(cam_method_name(m));
    nn::GradCamOptions opt;
    opt.method = m;
    opt.layer = "3";
    nn::GradCamResult c = nn::grad_cam(*cpu_net, x, opt);
    nn::GradCamResult g = nn::grad_cam(*gpu_net, on_gpu(x), opt);
    CHECK(g.classes == c.classes);
    REQUIRE(g.maps.is_cuda());
    expect_close(g.maps.to(Device::cpu()), c.maps, 1e-5, "grad_cam maps");
  }
}
#endif
