// Convolution fusion (nn/fusion.h, kernels/conv_epilogue.h): in a forward that records nothing,
// a convolution with the eval batch norm, residual and activation after it runs as one
// nn::conv2d_fused, which on the CPU gives the separate ops' bits: op by op over shapes, layouts,
// element types and epilogue forms; whole models eval'd fused and unfused, and folded for
// inference; and the cases that must not fuse (recording gradients, training mode, hooks) do not.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "models/inference.h"
#include "models/registry.h"
#include "nn/fusion.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_conv.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_norm.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"

using namespace hemo;

namespace {
Tensor random_tensor(const Shape& shape, uint64_t seed, double scale = 1.0, DType t = DType::f32) {
  Generator g(seed);
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = scale * g.normal();
  return Tensor::from_vector<double>(v, shape).to(t);
}

// Largest |a - b| (0 when equal bit for bit, barring signed zeros); NaN on one side only is inf.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to(DType::f64).to_vector<double>(), y = b.to(DType::f64).to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) != std::isnan(y[i])) return INFINITY;
    if (!std::isnan(x[i])) worst = std::max(worst, std::abs(x[i] - y[i]));
  }
  return worst;
}

// Whether two tensors hold the same bits (signed zeros and NaN payloads included).
bool same_bits(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(DType::f64).to_vector<double>(), y = b.to(DType::f64).to_vector<double>();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
}

Activation activation_of(BnAct a) { return a == BnAct::relu6 ? Activation::relu6 : Activation::relu; }

struct Geometry {
  Shape x;  // [n, c, h, w]
  int64_t k, r, stride, pad, groups;
};
}  // namespace

TEST_CASE("conv2d_fused: the separate ops' bits for every epilogue form, NCHW and channels-last, float and double") {
  // 1x1 direct, 3x3 padded, stride 2, grouped, depthwise, and batches that the CPU chunks (many
  // small images into one GEMM) so that the per-chunk epilogue meets a residual offset.
  const std::vector<Geometry> geometries = {{{2, 6, 9, 7}, 5, 1, 1, 0, 1},  {{3, 4, 10, 10}, 8, 3, 1, 1, 1},
                                            {{2, 6, 11, 9}, 6, 3, 2, 1, 2}, {{2, 6, 8, 8}, 6, 3, 1, 1, 6},
                                            {{150, 3, 6, 6}, 4, 3, 1, 1, 1}};
  NoGradGuard no_grad;
  int cases = 0;
  double worst = 0;
  for (DType t : {DType::f32, DType::f64})
    for (const Geometry& g : geometries)
      for (bool cl : {false, true})
        for (int form = 0; form < 16; ++form) {
          const bool bias = form & 1, bn = form & 2, residual = form & 4, act_on = form & 8;
          for (BnAct act : {BnAct::relu, BnAct::relu6}) {
            if (!act_on && act == BnAct::relu6) continue;
            const BnAct a = act_on ? act : BnAct::none;
            CAPTURE(shape_str(g.x));
            CAPTURE(cl);
            CAPTURE(form);
            const MemoryFormat fmt = cl ? MemoryFormat::channels_last : MemoryFormat::contiguous;
            const Tensor x = random_tensor(g.x, 1, 2.0, t).to(fmt);
            const Tensor w = random_tensor({g.k, g.x[1] / g.groups, g.r, g.r}, 2, 1.0, t);
            nn::ConvEpilogueArgs e;
            if (bias) e.bias = random_tensor({g.k}, 3, 1.0, t);
            Tensor mean = random_tensor({g.k}, 4, 1.0, t);
            Tensor var = nn::add(nn::mul(random_tensor({g.k}, 5, 1.0, t), random_tensor({g.k}, 5, 1.0, t)),
                                 Tensor::full({g.k}, 0.3, t));
            if (bn) {
              e.bn_weight = random_tensor({g.k}, 6, 3.0, t);  // some channels reach ReLU6's top
              e.bn_bias = random_tensor({g.k}, 7, 1.0, t);
              e.running_mean = mean;
              e.running_var = var;
              e.eps = 1e-3;
            }
            const nn::Pair stride{g.stride, g.stride}, pad{g.pad, g.pad};
            Tensor ref = nn::conv2d(x, w, e.bias, stride, pad, {1, 1}, g.groups);
            if (residual) e.residual = random_tensor(ref.shape(), 8, 2.0, t).to(fmt);
            e.act = a;
            if (bn) ref = nn::batch_norm(ref, e.bn_weight, e.bn_bias, mean, var, false, 0.1, e.eps);
            if (residual) ref = nn::add(ref, e.residual);
            if (a != BnAct::none) ref = nn::activation(activation_of(a), ref);
            const Tensor y = nn::conv2d_fused(x, w, e, stride, pad, {1, 1}, g.groups);
            CHECK(y.memory_format() == fmt);
            worst = std::max(worst, max_abs_diff(y, ref));
            CHECK(same_bits(y, ref));
            ++cases;
          }
        }
  std::printf("conv2d_fused: %d cases against conv2d -> batch_norm -> add -> activation, worst |diff| = %g\n", cases,
              worst);
}

TEST_CASE("conv2d_fused: refuses to run where a gradient would be recorded, and a mismatched residual") {
  const Tensor x = random_tensor({1, 2, 5, 5}, 1), w = random_tensor({3, 2, 3, 3}, 2).requires_grad_(true);
  nn::ConvEpilogueArgs e;
  e.act = BnAct::relu;
  CHECK_THROWS_WITH_AS(nn::conv2d_fused(x, w, e), doctest::Contains("no backward"), Error);
  NoGradGuard no_grad;
  CHECK(nn::conv2d_fused(x, w, e).shape() == Shape{1, 3, 3, 3});
  e.residual = random_tensor({1, 3, 4, 4}, 3);
  CHECK_THROWS_WITH_AS(nn::conv2d_fused(x, w, e), doctest::Contains("residual"), Error);
}

namespace {
// Eval logits of a freshly built model (random running statistics, so that the batch norms are
// not the identity), with fusion on or off; `fold` prepares it as hemo-infer does.
Tensor eval_logits(const std::string& name, bool fusion, bool fold, bool channels_last, uint64_t& fused) {
  nn::set_fusion_enabled(fusion);
  Generator gen(7);
  models::ModelOptions opt;
  opt.input_size = 64;
  nn::ModulePtr m = models::create_model(name, 3, opt, gen);
  Generator stats(100);  // running statistics written in place (the handles share the buffers' storage)
  for (auto& [bname, b] : m->named_buffers()) {
    const bool mean = bname.ends_with("running_mean"), var = bname.ends_with("running_var");
    if (!mean && !var) continue;
    float* p = b.data<float>();
    for (int64_t i = 0; i < b.numel(); ++i)
      p[i] = static_cast<float>(mean ? 0.2 * stats.normal() : 0.5 + std::abs(0.2 * stats.normal()));
  }
  m->eval();
  if (fold) models::prepare_for_inference(*m);
  Tensor x = random_tensor({2, 3, 64, 64}, 41);
  if (channels_last) x = x.to(MemoryFormat::channels_last);  // the convolutions keep their input's format
  NoGradGuard no_grad;
  const uint64_t before = nn::fused_convolutions();
  Tensor y = (*m)(x);
  fused = nn::fused_convolutions() - before;
  nn::set_fusion_enabled(true);
  return y;
}
}  // namespace

TEST_CASE("conv fusion: whole models in eval, and folded for inference, give the unfused logits bit for bit") {
  // resnet18/50: the blocks' conv_bn_act and conv_bn_add_act; mobilenet_v2: Sequential runs and
  // conv_bn_add; googlenet: BasicConv2d; vgg11_bn: Conv2d, BatchNorm2d, ReLU in a Sequential.
  for (const char* name : {"resnet18", "resnet50", "mobilenet_v2", "googlenet", "vgg11_bn"})
    for (bool fold : {false, true})
      for (bool cl : {false, true}) {
        if (cl && std::string(name) != "resnet18" && std::string(name) != "mobilenet_v2") continue;
        CAPTURE(name);
        CAPTURE(fold);
        CAPTURE(cl);
        uint64_t fused_on = 0, fused_off = 0;
        const Tensor on = eval_logits(name, true, fold, cl, fused_on);
        const Tensor off = eval_logits(name, false, fold, cl, fused_off);
        const double diff = max_abs_diff(on, off);
        std::printf("conv fusion %s%s%s: %llu convolutions fused; worst |fused - unfused| logit = %g\n", name,
                    fold ? " folded" : "", cl ? " channels-last" : "", static_cast<unsigned long long>(fused_on),
                    diff);
        CHECK(fused_off == 0);
        CHECK(fused_on > 0);
        // resnet18: the stem, two per block, and the three downsamples (conv + batch norm; once
        // folded, a convolution alone, which has nothing to fuse).
        if (std::string(name) == "resnet18") CHECK(fused_on == (fold ? 1 + 8 * 2 : 1 + 8 * 2 + 3));
        CHECK(same_bits(on, off));
      }
}

TEST_CASE("conv fusion: recording gradients, training mode and hooks keep the convolution apart") {
  Generator gen(3);
  auto seq = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Conv2d>(3, 4, nn::Conv2d::Options{.padding = {1, 1}, .bias = false}, gen),
      nn::make<nn::BatchNorm2d>(4), nn::make<nn::Act>(Activation::relu)});
  const Tensor x = random_tensor({2, 3, 6, 6}, 5);
  auto fused_by = [&](auto&& run) {
    const uint64_t before = nn::fused_convolutions();
    run();
    return nn::fused_convolutions() - before;
  };
  seq->eval();
  CHECK(fused_by([&] { (*seq)(x); }) == 0);  // the weights require grad, and recording is on
  {
    NoGradGuard no_grad;
    CHECK(fused_by([&] { (*seq)(x); }) == 1);
    seq->train();
    CHECK(fused_by([&] { (*seq)(x); }) == 0);  // training mode: the batch's statistics
    seq->eval();
    const size_t id = (*seq)[1]->register_forward_hook([](nn::Module&, const Tensor&) {});
    CHECK(fused_by([&] { (*seq)(x); }) == 0);  // a hook must see the batch norm's own output
    (*seq)[1]->remove_forward_hook(id);
    nn::set_fusion_enabled(false);
    CHECK(fused_by([&] { (*seq)(x); }) == 0);
    nn::set_fusion_enabled(true);
    CHECK(fused_by([&] { (*seq)(x); }) == 1);
  }
  for (auto& [name, p] : seq->named_parameters()) p.requires_grad_(false);
  CHECK(fused_by([&] { (*seq)(x); }) == 1);  // nothing requires grad: nothing would be recorded
}
