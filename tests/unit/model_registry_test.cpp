// The model registry and the shape tracer behind `hemo info`: names, heads, Grad-CAM layers,
// parameter counts against torchvision's published ones, and traced shapes against a real forward.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include "models/registry.h"
#include "models/summary.h"
#include "nn/layers.h"
#include "tensor/autograd.h"

using namespace hemo;

namespace {
// torchvision 0.14's weights.meta["num_params"] (1000 classes); pbcnet7: tools/pbcnet7_torch.py
// at its 100x100 input (convolutions 1,052,352; dense 256*128+128 and 128*1000+1000).
const std::map<std::string, int64_t> kTorchParams = {
    {"alexnet", 61100840},   {"vgg11", 132863336},    {"vgg11_bn", 132868840},    {"vgg13", 133047848},          {"vgg13_bn", 133053736},
    {"vgg16", 138357544},    {"vgg16_bn", 138365992},    {"vgg19", 143667240},          {"vgg19_bn", 143678248},
    {"resnet18", 11689512},  {"resnet34", 21797672},     {"resnet50", 25557032},        {"resnet101", 44549160},
    {"resnet152", 60192808}, {"wide_resnet50_2", 68883240}, {"wide_resnet101_2", 126886696},
    {"resnext50_32x4d", 25028904}, {"resnext101_32x8d", 88791336}, {"resnext101_64x4d", 83455272},
    {"densenet121", 7978856}, {"densenet161", 28681000}, {"densenet169", 14149480}, {"densenet201", 20013928},
    {"squeezenet1_0", 1248424}, {"squeezenet1_1", 1235496}, {"mobilenet_v2", 3504872},
    {"mobilenet_v3_small", 2542856}, {"mobilenet_v3_large", 5483032}, {"pbcnet7", 1214248},
    {"convnext_tiny", 28589128}, {"convnext_small", 50223688}, {"convnext_base", 88591464},
    {"efficientnet_b0", 5288548}, {"efficientnet_b1", 7794184}, {"efficientnet_b2", 9109994},
    {"efficientnet_b3", 12233232}, {"efficientnet_b4", 19341616}, {"efficientnet_b5", 30389784},
    {"efficientnet_b6", 43040704}, {"efficientnet_b7", 66347960},
    {"googlenet", 13004888}, {"inception_v3", 27161264}};  // with its auxiliary heads (torchvision's 6,624,904 counts without)
}  // namespace

TEST_CASE("registry: every architecture of the issue, with torchvision's parameter counts") {
  std::vector<std::string> names = models::model_names();
  CHECK(names.size() == kTorchParams.size());
  for (const std::string& name : names) {
    CAPTURE(name);
    REQUIRE(kTorchParams.count(name) == 1);
    const models::ModelSpec& spec = models::model_spec(name);
    Generator gen(0);
    models::ModelOptions opt;
    opt.init_weights = false;  // shapes only: skips drawing VGG's 138M initial values
    nn::ModulePtr m = models::create_model(name, 1000, opt, gen);
    CHECK(m->parameter_count() == kTorchParams.at(name));
    // The head: a Linear, or SqueezeNet's 1x1 convolution.
    auto* linear = dynamic_cast<nn::Linear*>(m->find(spec.head));
    auto* conv = dynamic_cast<nn::Conv2d*>(m->find(spec.head));
    REQUIRE_MESSAGE((linear != nullptr || (conv != nullptr && spec.family == "squeezenet")), "head ", spec.head,
                    " is not a Linear");
    CHECK((linear ? linear->out_features : conv->out_channels) == 1000);
    REQUIRE_MESSAGE(m->find(spec.gradcam_layer) != nullptr, "no Grad-CAM layer ", spec.gradcam_layer);
    // The defaults: ResNet's last block of layer4, MobileNet's, SqueezeNet's and
    // ConvNeXt's last feature block.
    if (spec.family == "resnet") {
      auto* layer4 = dynamic_cast<nn::Sequential*>(m->find("layer4"));
      REQUIRE(layer4 != nullptr);
      CHECK(spec.gradcam_layer == cat("layer4.", layer4->size() - 1));
    }
    if (spec.family == "densenet") CHECK(spec.gradcam_layer == "features.norm5");
    if (spec.family.rfind("mobilenet", 0) == 0 || spec.family == "squeezenet" || spec.family == "convnext" ||
        spec.family == "efficientnet") {
      auto* features = dynamic_cast<nn::Sequential*>(m->find("features"));
      REQUIRE(features != nullptr);
      CHECK(spec.gradcam_layer == cat("features.", features->size() - 1));
    }
    CHECK(m->is_training());
  }
}

TEST_CASE("registry: errors name the problem") {
  CHECK_THROWS_WITH_AS(models::model_spec("resnet19"), doctest::Contains("unknown model 'resnet19'"), Error);
  CHECK_THROWS_WITH_AS(models::model_spec("resnet19"), doctest::Contains("mobilenet_v3_small"), Error);
  Generator gen(0);
  CHECK_THROWS_WITH_AS(models::create_model("resnet18", 0, {}, gen), doctest::Contains("num_classes"), Error);
  // The literal stride-1 pools lose one pixel per block: 8 -> 1 is the smallest input. With stride
  // 2 a ceil-mode window may overhang a 1-pixel input, as in PyTorch, so any size works.
  models::ModelOptions tiny;
  tiny.pool_stride = 1;
  tiny.input_size = 8;
  CHECK_NOTHROW(models::create_model("pbcnet7", 3, tiny, gen));
  tiny.input_size = 7;
  CHECK_THROWS_WITH_AS(models::create_model("pbcnet7", 3, tiny, gen), doctest::Contains("too small"), Error);
  tiny.pool_stride = 2;
  tiny.input_size = 3;
  CHECK_NOTHROW(models::create_model("pbcnet7", 3, tiny, gen));
  models::ModelOptions drop;
  drop.stochastic_depth = 0.1;
  CHECK_THROWS_WITH_AS(models::create_model("resnet18", 3, drop, gen),
                       doctest::Contains("stochastic depth (--drop-path) is part of ConvNeXt and EfficientNet only"),
                       Error);
}

TEST_CASE("registry: ModelOptions.stochastic_depth (--drop-path) sets the deepest block's rate, linearly less before it") {
  for (const char* name : {"convnext_tiny", "efficientnet_b0"}) {
    CAPTURE(name);
    Generator gen(0);
    models::ModelOptions o;
    o.init_weights = false;
    o.stochastic_depth = 0.3;
    nn::ModulePtr m = models::create_model(name, 3, o, gen);
    std::vector<double> rates;
    for (auto& [path, module] : m->named_modules())
      if (auto* sd = dynamic_cast<nn::StochasticDepth*>(module)) rates.push_back(sd->p);
    REQUIRE(rates.size() > 10);
    CHECK(rates.front() == doctest::Approx(0.0));
    CHECK(rates.back() < 0.3 + 1e-12);  // torchvision: ConvNeXt p j / (J - 1), EfficientNet p j / J
    CHECK(rates.back() > 0.25);
    CHECK(std::is_sorted(rates.begin(), rates.end()));
  }
}

TEST_CASE("registry: batch-norm hyper-parameters per architecture, as torchvision") {
  Generator gen(0);
  for (const auto& [name, eps, momentum] : std::vector<std::tuple<std::string, double, double>>{
           {"resnet18", 1e-5, 0.1}, {"vgg11_bn", 1e-5, 0.1}, {"mobilenet_v2", 1e-5, 0.1},
           {"mobilenet_v3_small", 1e-3, 0.01}, {"mobilenet_v3_large", 1e-3, 0.01}}) {
    CAPTURE(name);
    models::ModelOptions opt;
    opt.init_weights = false;
    nn::ModulePtr m = models::create_model(name, 10, opt, gen);
    int count = 0;
    for (auto& [n, mod] : m->named_modules()) {
      auto* bn = dynamic_cast<nn::BatchNorm2d*>(mod);
      if (!bn) continue;
      ++count;
      CHECK(bn->eps == eps);
      CHECK(bn->momentum == momentum);
    }
    CHECK(count > 0);
  }
}

TEST_CASE("summary: traced shapes equal those of a real forward pass") {
  for (const auto& [name, size] : std::vector<std::pair<std::string, int64_t>>{
           {"resnet18", 40}, {"resnet50", 33}, {"vgg11_bn", 37}, {"mobilenet_v2", 35},
           {"mobilenet_v3_small", 45}, {"pbcnet7", 50}, {"alexnet", 63}}) {
    CAPTURE(name);
    models::ModelOptions opt;
    opt.input_size = size;
    opt.init_weights = false;  // shapes do not depend on the values; VGG's init would take seconds
    Generator gen(1);
    nn::ModulePtr m = models::create_model(name, 6, opt, gen);
    m->eval();
    // Each module's outputs, in call order (a ReLU module may run several times).
    std::map<std::string, std::vector<Shape>> seen;
    for (auto& [n, mod] : m->named_modules())
      mod->register_forward_hook([&seen, n = n](nn::Module&, const Tensor& y) { seen[n].push_back(y.shape()); });
    const int64_t width = name == "pbcnet7" ? size : size + 3;  // non-square where the model allows it
    Tensor y;
    {
      NoGradGuard no_grad;
      y = (*m)(Tensor::full({2, 3, size, width}, 0.25));
    }
    models::Summary s = models::summarize(*m, {2, 3, size, width});
    CHECK(s.output == y.shape());
    std::map<std::string, std::vector<Shape>> traced;
    for (const auto& r : s.rows) traced[r.name].push_back(r.output);
    CHECK(traced == seen);
  }
}

TEST_CASE("summary: pbcnet7 and hand-counted MACs") {
  models::ModelOptions opt;
  opt.input_size = 100;
  Generator gen(2);
  nn::ModulePtr m = models::create_model("pbcnet7", 8, opt, gen);
  models::Summary s = models::summarize(*m, {1, 3, 100, 100});
  CHECK(s.output == Shape{1, 8});
  CHECK(s.params == m->parameter_count());
  // Convolutions at sides 100 50 25 13 7 4 2, 3x3 kernels; then 256x128 and 128x8.
  const int64_t sides[7] = {100, 50, 25, 13, 7, 4, 2}, ch[8] = {3, 32, 64, 64, 64, 128, 256, 256};
  int64_t macs = 256 * 128 + 128 * 8;
  for (int b = 0; b < 7; ++b) macs += sides[b] * sides[b] * ch[b + 1] * ch[b] * 9;
  CHECK(s.macs == macs);
  CHECK_THROWS_WITH_AS(models::summarize(*m, {1, 3, 200, 200}),
                       doctest::Contains("expects 256 features, got [1, 1024]"), Error);
}

TEST_CASE("registry: init_weights = false builds zero weights; the default draws torchvision's init") {
  models::ModelOptions opt;
  opt.init_weights = false;
  Generator gen(3);
  nn::ModulePtr zero = models::create_model("mobilenet_v3_small", 5, opt, gen);
  CHECK(gen.state().offset == 0);  // nothing drawn
  for (const auto& [n, p] : zero->named_parameters()) {
    CAPTURE(n);
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(zero->find(n.substr(0, n.rfind('.'))));
    const float expected = (bn && n.ends_with(".weight")) ? 1.0f : 0.0f;  // BN starts at 1/0 either way
    for (float v : p.to_vector<float>()) REQUIRE(v == expected);
  }
  CHECK(nn::init_enabled());  // the guard ended with create_model

  // Default: torchvision's scheme. MobileNetV3's classifier: Linear weights N(0, 0.01), zero bias;
  // convolutions kaiming_normal_(fan_out): features.0.0 [16, 3, 3, 3] has std sqrt(2 / (16 * 9)).
  nn::ModulePtr m = models::create_model("mobilenet_v3_small", 5, {}, gen);
  auto stddev = [](const Tensor& t) {
    double s = 0;
    auto v = t.to_vector<double>();
    for (double x : v) s += x * x;
    return std::sqrt(s / static_cast<double>(v.size()));
  };
  const Tensor& w = dynamic_cast<nn::Linear*>(m->find("classifier.0"))->weight;
  CHECK(stddev(w) == doctest::Approx(0.01).epsilon(0.02));  // 576 * 1024 samples
  CHECK(stddev(dynamic_cast<nn::Linear*>(m->find("classifier.0"))->bias) == 0);
  const Tensor& c = dynamic_cast<nn::Conv2d*>(m->find("features.0.0"))->weight;
  CHECK(stddev(c) == doctest::Approx(std::sqrt(2.0 / 144)).epsilon(0.15));  // 432 samples
}
