#include "nn/ops_sync_norm.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <vector>

#include "core/error.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {

struct Stats {
  int64_t n = 0, c = 0, hw = 0;
  double count = 0;              // M, over every rank
  std::vector<double> mean, invstd;
};

void check_f32_on(const Tensor& t, Device device) {
  if (!t.defined()) return;
  HEMO_CHECK(t.device() == device && t.dtype() == DType::f32, "sync_batch_norm: a tensor is ", t.str(),
             "; all must be float32 on ", device.str());
}

// Applies f(channel, index) to every element of channel-major [N, C, HW] data.
template <class F>
void each(const Stats& s, F f) {
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t ch = 0; ch < s.c; ++ch)
      for (int64_t k = 0, base = (i * s.c + ch) * s.hw; k < s.hw; ++k) f(ch, base + k);
}

}  // namespace

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                       Tensor& running_var, double momentum, double eps, const HostAllReduce& reduce) {
  HEMO_CHECK(x.dim() >= 2, "sync_batch_norm: expected [N, C, ...] input, got ", x.str());
  if (x.is_channels_last())  // its kernels read NCHW planes
    return sync_batch_norm(x.contiguous(), weight, bias, running_mean, running_var, momentum, eps, reduce)
        .to(MemoryFormat::channels_last);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&x, &weight, &bias, &running_mean, &running_var})
    check_f32_on(*t, x.device());
  HEMO_CHECK(weight.defined() && bias.defined(), "sync_batch_norm: needs weight and bias");
  if (!x.device().is_cpu()) {
    // A CUDA input is staged through the host: the copies are differentiable (Tensor::to), so the
    // gradients come back to the device; the running statistics are updated on the host and put
    // back. Correct, not fast: each layer's activations cross PCIe twice per step.
    const Device device = x.device(), cpu = Device::cpu();
    Tensor rm = running_mean.defined() ? running_mean.to(cpu) : Tensor{};
    Tensor rv = running_var.defined() ? running_var.to(cpu) : Tensor{};
    const Tensor y = sync_batch_norm(x.to(cpu), weight.to(cpu), bias.to(cpu), rm, rv, momentum, eps, reduce);
    if (running_mean.defined()) running_mean = rm.to(device);
    if (running_var.defined()) running_var = rv.to(device);
    return y.to(device);
  }
  auto s = std::make_shared<Stats>();
  s->n = x.size(0), s->c = x.size(1), s->hw = s->n * s->c > 0 ? x.numel() / (s->n * s->c) : 0;
  const auto C = static_cast<size_t>(s->c);
  const float* px = x.data<float>();
  std::vector<double> sums(2 * C + 1, 0.0);
  each(*s, [&](int64_t ch, int64_t i) {
    sums[static_cast<size_t>(ch)] += px[i];
    sums[C + static_cast<size_t>(ch)] += static_cast<double>(px[i]) * px[i];
  });
  sums[2 * C] = static_cast<double>(s->n * s->hw);
  reduce(sums);
  s->count = sums[2 * C];
  HEMO_CHECK(s->count > 1, "sync_batch_norm: expected more than 1 value per channel over all ranks, got ", s->count);
  s->mean.resize(C), s->invstd.resize(C);
  std::vector<double> var(C);
  for (size_t ch = 0; ch < C; ++ch) {
    s->mean[ch] = sums[ch] / s->count;
    var[ch] = std::max(sums[C + ch] / s->count - s->mean[ch] * s->mean[ch], 0.0);
    s->invstd[ch] = 1.0 / std::sqrt(var[ch] + eps);
  }
  if (running_mean.defined()) {
    float *rm = running_mean.data<float>(), *rv = running_var.data<float>();
    for (size_t ch = 0; ch < C; ++ch) {
      rm[ch] = static_cast<float>((1 - momentum) * rm[ch] + momentum * s->mean[ch]);
      rv[ch] = static_cast<float>((1 - momentum) * rv[ch] + momentum * var[ch] * s->count / (s->count - 1));
    }
  }
  Tensor y = Tensor::empty_like(x);
  float* py = y.data<float>();
  const float *g = weight.data<float>(), *b = bias.data<float>();
  each(*s, [&](int64_t ch, int64_t i) {
    const auto k = static_cast<size_t>(ch);
    py[i] = static_cast<float>((px[i] - s->mean[k]) * s->invstd[k] * g[ch] + b[ch]);
  });
  record(y, "sync_batch_norm", {x, weight, bias}, [s, x, weight, reduce](const Tensor& gy) -> std::vector<Tensor> {
    const auto C2 = static_cast<size_t>(s->c);
    const float *pgy = gy.data<float>(), *px2 = x.data<float>(), *g2 = weight.data<float>();
    std::vector<double> sums2(2 * C2, 0.0);  // S(gy), S(gy xhat)
    each(*s, [&](int64_t ch, int64_t i) {
      const auto k = static_cast<size_t>(ch);
      sums2[k] += pgy[i];
      sums2[C2 + k] += pgy[i] * (px2[i] - s->mean[k]) * s->invstd[k];
    });
    Tensor gw = Tensor::empty_like(weight), gb = Tensor::empty_like(weight), gx = Tensor::empty_like(x);
    for (size_t k = 0; k < C2; ++k) gb.data<float>()[k] = static_cast<float>(sums2[k]);
    for (size_t k = 0; k < C2; ++k) gw.data<float>()[k] = static_cast<float>(sums2[C2 + k]);
    reduce(sums2);
    float* pgx = gx.data<float>();
    each(*s, [&](int64_t ch, int64_t i) {
      const auto k = static_cast<size_t>(ch);
      const double xhat = (px2[i] - s->mean[k]) * s->invstd[k];
      pgx[i] = static_cast<float>(g2[ch] * s->invstd[k] *
                                  (pgy[i] - sums2[k] / s->count - xhat * sums2[C2 + k] / s->count));
    });
    return {gx, gw, gb};
  });
  return y;
}

}  // namespace hemo::nn
