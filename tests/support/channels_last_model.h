// The whole-model channels-last check (issue 16: no conversion inside a ResNet or MobileNet block).
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "models/registry.h"
#include "nn/ops_loss.h"
#include "tensor/autograd.h"
#include "tests/support/compare.h"
#include "tests/support/random.h"

namespace hemo::test {

// A model's forward and backward on a channels-last batch on `device` against the same model on
// the contiguous batch on the CPU: logits and every parameter gradient agree to float32 rounding,
// and no layer between the input and the logits copies between formats. (Dropout off: each run
// would draw its own mask.) tests/unit/channels_last_test.cpp runs it on the CPU in training mode;
// tests/cuda/opcases_cuda_test.cpp on the (emulated) GPU in eval mode, at a size small enough for
// the emulator, where batch statistics over a few values per channel would amplify the rounding
// differences between two devices' summation orders past any fixed tolerance (as in
// tests/cuda/models_cuda_test.cpp); eval mode runs the same convolution, depthwise and pooling
// kernels, and batch norm's per-channel affine kernels, with the same count of copies.
inline void check_model_channels_last(const std::string& name, int64_t size, Device device, bool training) {
  Generator gen(3);
  models::ModelOptions opt;
  opt.input_size = size;
  opt.dropout = 0;  // the two runs would draw different masks
  nn::ModulePtr model = models::create_model(name, 8, opt, gen);
  model->train(training);
  const Tensor x = random_tensor({2, 3, size, size}, 11, DType::f32);
  const std::vector<int64_t> labels = {1, 6};
  auto step = [&](const Tensor& input) {
    model->zero_grad();
    Tensor logits = (*model)(input);
    nn::cross_entropy(logits, labels).backward();
    std::vector<Tensor> grads;
    for (const Tensor& p : model->parameters())
      grads.push_back(p.grad().defined() ? p.grad().to(Device::cpu()).contiguous() : Tensor());
    return std::make_pair(logits.detach().to(Device::cpu()), grads);
  };
  const auto [logits, grads] = step(x);
  model->to(device);
  const Tensor xl = x.to(device).to(MemoryFormat::channels_last);
  const uint64_t before = memory_format_conversions();
  const auto [logits_l, grads_l] = step(xl);
  const uint64_t copies = memory_format_conversions() - before;
  MESSAGE(name, " on ", device.str(), ": ", copies, " memory-format copies in a channels-last forward and backward");
  CHECK_MESSAGE(copies == 0, name, ": ", copies, " memory-format copies inside the model");
  HEMO_CHECK_CLOSE(logits_l, logits, 1e-4, name + " logits");
  // Gradients: |a - e| <= 3e-3 (|e| + rms(e)) for every parameter; in training mode, for every one
  // whose gradient's rms is at least 1e-4 of the largest one's. Those below are the biases of batch
  // norms that feed another batch norm through a linear convolution: their exact gradient is 0 (the
  // next normalization removes any shift), so both runs hold rounding noise (about 1e-7 against
  // 1e-2) and are only counted. (In eval mode no gradient is 0, though the early layers' are small:
  // a fresh MobileNetV2's are under 1e-4 of its classifier's.)
  REQUIRE(grads.size() == grads_l.size());
  auto rms = [](const std::vector<double>& v) {
    double ss = 0;
    for (double e : v) ss += e * e;
    return v.empty() ? 0.0 : std::sqrt(ss / static_cast<double>(v.size()));
  };
  double largest = 0;
  for (const Tensor& g : grads)
    if (g.defined()) largest = std::max(largest, rms(g.to_vector<double>()));
  double worst = 0;
  size_t worst_param = 0, noise = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    REQUIRE(grads[i].defined() == grads_l[i].defined());
    if (!grads[i].defined()) continue;
    const std::vector<double> e = grads[i].to_vector<double>(), a = grads_l[i].to_vector<double>();
    const double scale = rms(e);
    if (training && scale < 1e-4 * largest) {
      ++noise;
      continue;
    }
    for (size_t k = 0; k < e.size(); ++k) {
      const double r = std::abs(a[k] - e[k]) / (3e-3 * (std::abs(e[k]) + scale));
      if (r > worst) worst = r, worst_param = i;
    }
  }
  CHECK(noise < grads.size() / 4);
  MESSAGE(name, ": worst parameter-gradient error / allowance ", worst, " (parameter ", worst_param, " of ",
          grads.size(), "; ", noise, " gradients of rounding noise only, not compared)");
  CHECK(worst <= 1.0);
}

}  // namespace hemo::test
