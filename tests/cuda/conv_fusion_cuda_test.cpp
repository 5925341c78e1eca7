// Convolution fusion on CUDA (kernels/conv_epilogue.h, kernels/cuda/conv_cudnn.h): the fallback
// (cuDNN's convolution, then the epilogue kernel) gives the CPU's bits; cuDNN's fused graph, asked
// for where tensor cores are allowed (TF32 on, or bf16 products) and ungrouped convolutions, is
// planned once per shape and form and agrees with the CPU (bit for bit in emulation, where the
// graph is computed by the CPU reference in float32; within TF32's or bf16's rounding on a GPU);
// HEMO_CUDNN_FUSION's switch runs the fallback instead; a model gives the unfused logits.
#include <cstdio>
#include <string>
#include <vector>

#include "models/registry.h"
#include "nn/fusion.h"
#include "nn/ops_conv.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"
#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include "kernels/conv_epilogue.h"
#include "kernels/cuda/conv_cudnn.h"
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA
namespace {
using Case = ConvCase;

// nn::conv2d_fused of the same random operands on `device`, with every epilogue part present.
Tensor fused_on(Device device, const Case& c, bool channels_last, BnAct act, uint64_t seed) {
  const auto place = [&](const Tensor& t) {
    Tensor p = t.to(device);
    return channels_last && t.dim() == 4 ? p.to(MemoryFormat::channels_last) : p;
  };
  const int64_t p = (c.x[2] + 2 * c.pad - c.r) / c.stride + 1, q = (c.x[3] + 2 * c.pad - c.r) / c.stride + 1;
  nn::ConvEpilogueArgs e;
  e.bias = place(random_tensor({c.k}, seed + 2, DType::f32));
  e.bn_weight = place(random_tensor({c.k}, seed + 3, DType::f32, 0.5, 3.0));
  e.bn_bias = place(random_tensor({c.k}, seed + 4, DType::f32));
  e.running_mean = place(random_tensor({c.k}, seed + 5, DType::f32));
  e.running_var = place(random_positive({c.k}, seed + 6, DType::f32));
  e.residual = place(random_tensor({c.x[0], c.k, p, q}, seed + 7, DType::f32, 0.1, 2.0));
  e.act = act;
  const Tensor x = place(random_tensor(c.x, seed, DType::f32, 0.1, 2.0));
  const Tensor w = place(random_tensor({c.k, c.x[1] / c.groups, c.r, c.r}, seed + 1, DType::f32));
  NoGradGuard no_grad;
  return nn::conv2d_fused(x, w, e, {c.stride, c.stride}, {c.pad, c.pad}, {1, 1}, c.groups).to(Device::cpu());
}

}  // namespace
#endif

TEST_CASE("conv2d_fused on CUDA: the fallback and cuDNN's fused graph against the CPU") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  uint64_t seed = 10;
  for (const Case& c : kConvCases)
    for (bool cl : {false, true})
      for (BnAct act : {BnAct::relu, BnAct::relu6}) {
        CAPTURE(shape_str(c.x));
        CAPTURE(cl);
        seed += 10;
        const std::string what = cat("conv ", shape_str(c.x), " k=", c.k, " r=", c.r, " stride=", c.stride,
                                     " groups=", c.groups, cl ? " NHWC " : " NCHW ", bn_act_name(act));
        const Tensor want = fused_on(Device::cpu(), c, cl, act, seed);
        {  // float32 with TF32 off: never asked of the graph; the fallback is the CPU's bits
          MathGuard math(false, false);
          const size_t planned = cuda::cudnn_fusion_stats().planned;
          check_equal(fused_on(gpu(), c, cl, act, seed), want, what + " fallback");
          CHECK(cuda::cudnn_fusion_stats().planned == planned);
        }
        {  // TF32 allowed: the fused graph (ungrouped), or the fallback with the switch off
          MathGuard math(true, false);
          const size_t planned = cuda::cudnn_fusion_stats().planned;
          expect_close(fused_on(gpu(), c, cl, act, seed), want, kEmulated ? 0 : 5e-3, what + " TF32 graph");
          if (kEmulated && c.groups == 1) CHECK(cuda::cudnn_fusion_stats().planned == planned + 1);
          if (c.groups > 1) CHECK(cuda::cudnn_fusion_stats().planned == planned);
          cuda::set_cudnn_fusion(false);
          const size_t planned_off = cuda::cudnn_fusion_stats().planned;
          expect_close(fused_on(gpu(), c, cl, act, seed), want, kEmulated ? 0 : 5e-3, what + " TF32 fallback");
          CHECK(cuda::cudnn_fusion_stats().planned == planned_off);
          cuda::set_cudnn_fusion(true);
        }
        {  // bf16 products: the graph on bf16 operands, float32 sums and epilogue
          MathGuard math(false, true);
          expect_close(fused_on(gpu(), c, cl, act, seed), want, 3e-2, what + " bf16 graph");
        }
      }
  const cuda::CudnnFusionStats stats = cuda::cudnn_fusion_stats();
  std::printf("conv2d_fused on CUDA: %zu fused graphs planned, %zu refused%s%s\n", stats.planned, stats.refused,
              stats.first_refusal.empty() ? "" : "; first refusal: ", stats.first_refusal.c_str());
  // On a GPU, cuDNN refusing every graph fails here, with its first reason printed above: the fused
  // path would then never run (not yet seen on a GPU).
  CHECK(stats.planned > 0);
#endif
}

TEST_CASE("conv fusion on CUDA: a ResNet-18 in eval gives the unfused logits") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  Tensor logits[2];
  uint64_t fused[2] = {};
  for (int on : {1, 0}) {
    nn::set_fusion_enabled(on == 1);
    Generator gen(7);
    models::ModelOptions opt;
    opt.input_size = 32;
    nn::ModulePtr m = models::create_model("resnet18", 4, opt, gen);
    m->eval();
    m->to(gpu());
    NoGradGuard no_grad;
    const uint64_t before = nn::fused_convolutions();
    logits[on] = (*m)(on_gpu(random_tensor({2, 3, 32, 32}, 5, DType::f32))).to(Device::cpu());
    fused[on] = nn::fused_convolutions() - before;
  }
  nn::set_fusion_enabled(true);
  CHECK(fused[1] == 20);
  CHECK(fused[0] == 0);
  check_equal(logits[1], logits[0], "resnet18 logits, fused against unfused");
#endif
}
