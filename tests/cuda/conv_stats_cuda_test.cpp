// A training convolution's statistics from cuDNN's graph (kernels/conv_epilogue.h:
// cuda::conv2d_fwd_stats; nn/fusion.h: summed_convolutions): where the graph of the convolution
// and genstats runs (tensor cores allowed, ungrouped, no bias) nn::conv2d hands back its output's
// per-channel sum and sum of squares, the same output as without them, and the sums of that output;
// elsewhere none. A ResNet-18 and a MobileNetV2 training step with the batch norms taking those
// sums match the step without them (the statistics differ only in rounding: kernels/batchnorm.h's
// bound), in the loss, every gradient and the running statistics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "models/registry.h"
#include "nn/fusion.h"
#include "nn/ops_conv.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_loss.h"
#include "nn/ops_norm.h"
#include "nn/ops_reduce.h"
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
// y's per-channel sum and sum of squares, in double on the host (y [n, k, p, q], any memory format).
std::vector<double> host_sums(const Tensor& y_any, bool squares) {
  const Tensor y = y_any.to(Device::cpu()).contiguous();
  const std::vector<float> v = y.to_vector<float>();
  const int64_t k = y.size(1), pq = y.size(2) * y.size(3);
  std::vector<double> out(static_cast<size_t>(k));
  for (size_t i = 0; i < v.size(); ++i) {
    const double e = v[i];
    out[static_cast<size_t>(static_cast<int64_t>(i) / pq % k)] += squares ? e * e : e;
  }
  return out;
}

// |got - want| <= tol (|want| + rms(want)) for every channel; prints the worst.
void check_sums(const Tensor& got_t, const std::vector<double>& want, double tol, const std::string& what) {
  const std::vector<float> got = got_t.to(Device::cpu()).to_vector<float>();
  REQUIRE(got.size() == want.size());
  double rms = 0, worst = 0;
  for (double w : want) rms += w * w / static_cast<double>(want.size());
  rms = std::sqrt(rms);
  bool ok = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]), bound = tol * (std::abs(want[i]) + rms);
    worst = std::max(worst, err / (std::abs(want[i]) + rms));
    ok = ok && err <= bound;
  }
  std::printf("%s: worst scaled error %.3g (tolerance %.3g)\n", what.c_str(), worst, tol);
  CHECK_MESSAGE(ok, what, ": worst scaled error ", worst, " over ", tol);
}
}  // namespace
#endif

TEST_CASE("conv2d on CUDA: the output's channel sums from cuDNN's graph where it runs, none elsewhere") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  uint64_t seed = 300;
  const size_t planned_before = cuda::cudnn_fusion_stats().planned;
  for (const ConvCase& c : kConvCases)
    for (bool cl : {false, true}) {
      seed += 10;
      const std::string what = cat("conv ", shape_str(c.x), " k=", c.k, " r=", c.r, " stride=", c.stride,
                                   " groups=", c.groups, cl ? " NHWC" : " NCHW");
      CAPTURE(what);
      auto place = [&](const Tensor& t) {
        const Tensor g = on_gpu(t);
        return cl ? g.to(MemoryFormat::channels_last) : g;
      };
      const Tensor x = place(random_tensor(c.x, seed, DType::f32, 0.1, 2.0));
      const Tensor w = on_gpu(random_tensor({c.k, c.x[1] / c.groups, c.r, c.r}, seed + 1, DType::f32));
      auto conv = [&](nn::ChannelSums* sums, const Tensor& bias = Tensor()) {
        return nn::conv2d(x, w, bias, {c.stride, c.stride}, {c.pad, c.pad}, {1, 1}, c.groups, sums);
      };
      for (int mode : {0, 1}) {  // TF32 allowed; bf16 products
        MathGuard math(mode == 0, mode == 1);
        const std::string m = cat(what, mode == 0 ? " TF32" : " bf16");
        const Tensor plain = conv(nullptr);
        nn::ChannelSums sums;
        const size_t planned = cuda::cudnn_fusion_stats().planned;
        const Tensor y = conv(&sums);
        // Emulated: the same convolution as without sums; on a GPU the graph's engine may differ.
        expect_close(y.to(Device::cpu()), plain.to(Device::cpu()), kEmulated ? 0 : (mode == 0 ? 5e-3 : 3e-2),
                     m + " output");
        if (c.groups > 1) {
          CHECK_FALSE(sums.defined());
          continue;
        }
        if (kEmulated) {
          REQUIRE(sums.defined());
          CHECK(cuda::cudnn_fusion_stats().planned == planned + 1);
        } else if (!sums.defined()) {  // refused by cuDNN on this GPU: counted, and checked at the end
          continue;
        }
        // float32 accumulation of the values y holds (on a GPU the bf16 graph may sum them unrounded)
        const double tol = kEmulated || mode == 0 ? 1e-5 : 1e-2;
        check_sums(sums.sum, host_sums(y, false), tol, m + " sum");
        check_sums(sums.sqsum, host_sums(y, true), tol, m + " sqsum");
        nn::ChannelSums again;
        conv(&again);  // the cached plan: planned once per (shape, type, form)
        if (kEmulated) CHECK(cuda::cudnn_fusion_stats().planned == planned + 1);
        cuda::set_cudnn_fusion(false);  // the switch: the plain convolution, no sums
        nn::ChannelSums off;
        check_equal(conv(&off).to(Device::cpu()), plain.to(Device::cpu()), m + " switched off");
        CHECK_FALSE(off.defined());
        cuda::set_cudnn_fusion(true);
        nn::ChannelSums with_bias;  // a bias is never part of the graph
        conv(&with_bias, on_gpu(random_tensor({c.k}, seed + 2, DType::f32)));
        CHECK_FALSE(with_bias.defined());
      }
      {  // float32 with TF32 off: never asked of cuDNN's graph; y exactly the plain convolution's
        MathGuard math(false, false);
        const size_t planned = cuda::cudnn_fusion_stats().planned;
        nn::ChannelSums sums;
        check_equal(conv(&sums).to(Device::cpu()), conv(nullptr).to(Device::cpu()), what + " float32");
        CHECK_FALSE(sums.defined());
        CHECK(cuda::cudnn_fusion_stats().planned == planned);
      }
    }
  nn::ChannelSums cpu_sums;  // the CPU never sums in the convolution
  nn::conv2d(random_tensor({2, 3, 5, 5}, 1, DType::f32), random_tensor({4, 3, 3, 3}, 2, DType::f32), Tensor(),
             {1, 1}, {1, 1}, {1, 1}, 1, &cpu_sums);
  CHECK_FALSE(cpu_sums.defined());
  const cuda::CudnnFusionStats stats = cuda::cudnn_fusion_stats();
  std::printf("conv2d's statistics graph on CUDA: %zu graphs planned, %zu refused%s%s\n", stats.planned,
              stats.refused, stats.first_refusal.empty() ? "" : "; first refusal: ", stats.first_refusal.c_str());
  CHECK(stats.planned > planned_before);  // on a GPU: cuDNN refusing every graph means the path never runs
#endif
}

#if HEMO_WITH_CUDA
namespace {
struct Step {
  Tensor logits, loss;
  std::vector<Tensor> grads;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> running;  // (mean, var) per batch norm
  uint64_t summed = 0;
};

// One training step of a fresh `model` (seeded, dropout 0) on the device: logits, loss, every
// parameter's gradient, every batch norm's running statistics afterwards, and how many
// convolutions handed on their sums.
Step train_step(const std::string& model, bool channels_last, int64_t side) {
  Generator gen(11);
  models::ModelOptions opt;
  opt.input_size = side;
  opt.dropout = 0;  // MobileNetV2's classifier: no random mask, so the two steps see the same network
  nn::ModulePtr m = models::create_model(model, 5, opt, gen);
  m->train();
  m->to(gpu());
  Tensor x = on_gpu(random_tensor({4, 3, side, side}, 21, DType::f32, 0.1, 2.0));
  if (channels_last) x = x.to(MemoryFormat::channels_last);  // as hemo train --channels-last
  Step s;
  const uint64_t before = nn::summed_convolutions();
  s.logits = (*m)(x);
  s.summed = nn::summed_convolutions() - before;
  s.loss = nn::cross_entropy(s.logits, std::vector<int64_t>{0, 3, 1, 4});
  s.loss.backward();
  for (const auto& [name, p] : m->named_parameters()) s.grads.push_back(p.grad().to(Device::cpu()));
  const auto buffers = m->named_buffers();
  for (size_t i = 0; i + 1 < buffers.size(); ++i)
    if (buffers[i].first.ends_with("running_mean") && buffers[i + 1].first.ends_with("running_var"))
      s.running.emplace_back(buffers[i].second.to(Device::cpu()).to_vector<float>(),
                             buffers[i + 1].second.to(Device::cpu()).to_vector<float>());
  s.logits = s.logits.to(Device::cpu());
  s.loss = s.loss.to(Device::cpu());
  return s;
}

// The batch statistics behind the running ones after one step from (0, 1) with momentum 0.1
// (running = 0.1 batch + 0.9 initial): |mean - mean'| <= tol (|mean'| + std') and
// |var - var'| <= tol var' (a mean of normalized values is zero analytically: its own magnitude is
// rounding noise), each allowance widened by the running value's own float32 rounding (4 ulps),
// which the batch statistic cannot be read back more finely than. The worst error / allowance.
double worst_running(const Step& a, const Step& b, double tol) {
  REQUIRE(a.running.size() == b.running.size());
  constexpr double kUlps = 4.0 / (1 << 23);
  double worst = 0;
  for (size_t l = 0; l < a.running.size(); ++l)
    for (size_t k = 0; k < a.running[l].first.size(); ++k) {
      const double ma = a.running[l].first[k], mb = b.running[l].first[k];
      const double va = a.running[l].second[k], vb = b.running[l].second[k];
      const double batch_var = std::max((vb - 0.9) / 0.1, 0.0);
      const double mean_allowance = 0.1 * tol * (std::abs(mb) / 0.1 + std::sqrt(batch_var)) + kUlps * std::abs(mb);
      worst = std::max(worst, std::abs(ma - mb) / mean_allowance);
      worst = std::max(worst, std::abs(va - vb) / (0.1 * tol * batch_var + kUlps * vb));
    }
  return worst;
}

// The step with the sums against the step without (cuDNN's graph switched off). The statistics
// differ in rounding only; the forward is compared as tests/cuda/models_cuda_test.cpp compares the
// GPU with the CPU in training mode (logits 1e-3, running statistics 1e-4 as above), MobileNetV2 at
// 64² as there: at 32² its last maps are 1x1 (a batch norm over 4 values per channel), and its last
// ten batch norms differed by up to 15 times the allowance, growing layer by layer (the first 42
// within it), while at 64² the worst is 0.37 of it. Training-mode
// gradients amplify rounding (channels of near-zero batch variance; that file's header has the
// figures), so they are compared for ResNet-18 only, at 5e-2 (emulated; on a GPU, TF32's own
// differences leave that meaningless), and otherwise checked finite.
void compare_steps(const std::string& model, bool cl, int64_t side, uint64_t convolutions) {
  const std::string what = cat(model, cl ? " channels-last" : " NCHW");
  CAPTURE(what);
  MathGuard math(true, false);  // TF32 allowed: the graph is asked for
  cuda::set_cudnn_fusion(false);
  const Step plain = train_step(model, cl, side);
  cuda::set_cudnn_fusion(true);
  const Step summed = train_step(model, cl, side);
  std::printf("%s: %llu of %llu convolutions summed for their batch norm\n", what.c_str(),
              static_cast<unsigned long long>(summed.summed), static_cast<unsigned long long>(convolutions));
  CHECK(plain.summed == 0);
  // On a GPU cuDNN may refuse some shapes' graphs (the first test prints why); none is a failure.
  if (kEmulated) CHECK(summed.summed == convolutions);
  CHECK(summed.summed > 0);
  // On a GPU the graph's engine and the plain convolution's algorithm round differently under TF32
  // (about 5e-4 per convolution, which batch statistics amplify): looser there.
  expect_close(summed.logits, plain.logits, kEmulated ? 1e-3 : 2e-2, what + " logits");
  expect_close(summed.loss, plain.loss, kEmulated ? 1e-4 : 5e-3, what + " loss");
  const double running = worst_running(summed, plain, kEmulated ? 1e-4 : 1e-2);
  std::printf("%s: running statistics' worst error/allowance %.3g\n", what.c_str(), running);
  CHECK(running <= 1);
  REQUIRE(summed.grads.size() == plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    if (model == "resnet18" && kEmulated) {
      expect_close(summed.grads[i], plain.grads[i], 5e-2, cat(what, " gradient ", i));
    } else {
      const std::vector<float> g = summed.grads[i].to_vector<float>();
      CHECK(std::all_of(g.begin(), g.end(), [](float v) { return std::isfinite(v); }));
    }
  }
}
}  // namespace
#endif

TEST_CASE("a training step on CUDA: batch norms from the convolutions' sums match the step without them") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  compare_steps("resnet18", false, 32, 20);      // every convolution (stem, blocks, the 3 downsamples)
  compare_steps("resnet18", true, 32, 20);
  compare_steps("mobilenet_v2", true, 64, 35);   // all but the 17 depthwise ones (grouped)
  {
    nn::set_fusion_enabled(false);  // --no-fusion: none
    MathGuard math(true, false);
    const Step off = train_step("resnet18", false, 32);
    nn::set_fusion_enabled(true);
    CHECK(off.summed == 0);
  }
#endif
}

TEST_CASE("batch norm from sums on CUDA: ill-conditioned channels take the two passes, the same bits as without") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  // [16, 24, 5, 5] around 1000 with a spread of 1e-3 (float32 sums of ~1e6 per channel cancel to
  // noise), every third channel around 0 instead (well conditioned: those use the sums).
  Tensor x = random_tensor({16, 24, 5, 5}, 77, DType::f32, 0.0, 1e-3);
  std::vector<float> v = x.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i)
    if (i / 25 % 24 % 3 != 0) v[i] += 1000.0f;
  x = Tensor::from_vector<float>(v, x.shape());
  for (bool cl : {false, true}) {
    CAPTURE(cl);
    const Tensor xg = cl ? on_gpu(x).to(MemoryFormat::channels_last) : on_gpu(x);
    const Tensor xd = xg.contiguous();  // channel sums on the device, as the convolution's graph hands them
    auto per_channel = [](Tensor t) {
      t = nn::sum(t, 0);
      while (t.dim() > 1) t = nn::sum(t, -1);
      return t;
    };
    const nn::ChannelSums sums{per_channel(xd), per_channel(nn::mul(xd, xd))};
    const Tensor w = on_gpu(random_tensor({24}, 78, DType::f32, 0.5, 2.0));
    const Tensor b = on_gpu(random_tensor({24}, 79, DType::f32));
    Tensor rm1 = on_gpu(Tensor::zeros({24})), rv1 = on_gpu(Tensor::ones({24}));
    Tensor rm2 = on_gpu(Tensor::zeros({24})), rv2 = on_gpu(Tensor::ones({24}));
    const Tensor with = nn::batch_norm(xg, w, b, rm1, rv1, true, 0.1, 1e-5, BnAct::relu, Tensor(), &sums);
    const Tensor without = nn::batch_norm(xg, w, b, rm2, rv2, true, 0.1, 1e-5, BnAct::relu);
    // The ill-conditioned channels: bit for bit; the others within the sums' rounding.
    const std::vector<float> a = with.contiguous().to(Device::cpu()).to_vector<float>(),
                             e = without.contiguous().to(Device::cpu()).to_vector<float>();
    size_t differ_ill = 0;
    double worst_well = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (i / 25 % 24 % 3 != 0)
        differ_ill += a[i] != e[i];
      else
        worst_well = std::max(worst_well, static_cast<double>(std::abs(a[i] - e[i])));
    }
    std::printf("batch norm from sums, %s: %zu ill-conditioned outputs differ; well-conditioned worst |diff| %.3g\n",
                cl ? "NHWC" : "NCHW", differ_ill, worst_well);
    CHECK(differ_ill == 0);
    CHECK(worst_well < 1e-6);
  }
#endif
}
