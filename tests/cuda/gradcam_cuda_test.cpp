// CUDA Grad-CAM against the CPU reference (kernels/gradcam.h), through nn/ops_gradcam.h: the colour
// maps and the overlay (within one level of 255), and the whole driver on a small network when
// cuDNN is there. The channel weights, weighted sum, normalization and resize are op cases
// (opcases/gradcam.cpp), checked in tests/cuda/opcases_cuda_test.cpp.
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
}  // namespace

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
