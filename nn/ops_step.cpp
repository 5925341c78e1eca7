#include "nn/ops_step.h"

#include "kernels/grad_clip.h"
#include "kernels/reduce.h"
#include "kernels/step_stats.h"
#include "nn/dispatch.h"
#include "nn/ops_elementwise.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
template <class Fn>
void on_device_of(Device device, Fn&& fn) {
  if (device.is_cpu()) {
    fn(cpu::backend);
    return;
  }
#if HEMO_WITH_CUDA
  fn(cuda::backend);
#else
  throw Error("step statistics: CUDA tensor in a build without CUDA");
#endif
}
}  // namespace

StepStats::StepStats(Device device) : storage_(kStatsSize * sizeof(double), device) { reset(); }

void StepStats::reset() {
  on_device_of(device(), [&](auto backend) { step_stats_reset(backend, data()); });
}

std::vector<double> StepStats::read() const {
  std::vector<double> s(kStatsSize);
  copy_bytes(s.data(), Device::cpu(), data(), device(), storage_.bytes());
  return s;
}

Tensor grad_squares(const std::vector<Tensor>& params) {
  NoGradGuard no_grad;
  HEMO_CHECK(!params.empty(), "grad_squares: no parameters");
  Tensor out = Tensor::zeros({static_cast<int64_t>(params.size())}, params[0].dtype(), params[0].device());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor g = params[i].grad();
    if (!g.defined()) continue;
    const Tensor gg = mul(g, g);
    dispatch("grad_squares", gg, [&](auto backend, auto t) {
      using T = decltype(t);
      sum_axis(backend, 1, gg.numel(), 1, 1.0, gg.data<T>(), out.data<T>() + i);  // nn::sum's reduction
    });
  }
  return out;
}

void clip_grads_(const std::vector<Tensor>& params, const Tensor& param_sq, double max_norm) {
  HEMO_CHECK(max_norm > 0, "clip_grads_: the norm limit must be > 0 (got ", max_norm, ")");
  HEMO_CHECK(param_sq.dim() == 1 && param_sq.numel() == static_cast<int64_t>(params.size()),
             "clip_grads_: ", params.size(), " parameters but squares ", param_sq.str());
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  for (const Tensor& g : grads) check_same_place("clip_grads_", {g, param_sq});
  dispatch("clip_grads_", param_sq, [&](auto backend, auto t) {
    using T = decltype(t);
    std::vector<int64_t> sizes;
    std::vector<T*> data;
    for (const Tensor& g : grads) {  // scaled element by element: any memory format will do
      sizes.push_back(g.numel());
      data.push_back(g.data_any_format<T>());
    }
    GradClipArgs<T> a;
    a.param_sq = param_sq.data<T>();
    a.p = param_sq.numel();
    a.max_norm = max_norm;
    a.count = static_cast<int64_t>(grads.size());
    a.sizes = sizes.data();
    a.grads = data.data();
    clip_grads(backend, a);
  });
}

namespace {
void record(StepStats& stats, const Tensor& loss, const Tensor& param_sq, const Tensor& logits, int64_t n_labels,
            const int64_t* labels, int64_t step, const int64_t* step_at) {
  check_same_place("record_step", {loss, param_sq, logits});
  HEMO_CHECK(stats.device() == logits.device(), "record_step: the stats live on ", stats.device().str(),
             ", the logits on ", logits.device().str());
  HEMO_CHECK(logits.dim() == 2 && logits.size(0) == n_labels && loss.numel() == 1, "record_step: logits ",
             logits.str(), " for ", n_labels, " labels and a loss of ", loss.numel(), " values");
  const Tensor z = logits.contiguous();
  dispatch("record_step", z, [&](auto backend, auto t) {
    using T = decltype(t);
    StepStatsArgs<T> a;
    a.loss = loss.data<T>();
    a.param_sq = param_sq.data<T>();
    a.p = param_sq.numel();
    a.logits = z.data<T>();
    a.labels = labels;
    a.n = z.size(0), a.k = z.size(1), a.step = step, a.step_at = step_at;
    a.stats = stats.data();
    step_stats(backend, a);
  });
}
}  // namespace

void record_step(StepStats& stats, const Tensor& loss, const Tensor& param_sq, const Tensor& logits,
                 const std::vector<int64_t>& labels, int64_t step) {
  Storage label_buf(labels.size() * sizeof(int64_t), logits.device());
  upload_bytes(label_buf.data(), logits.device(), labels.data(), label_buf.bytes());
  record(stats, loss, param_sq, logits, static_cast<int64_t>(labels.size()),
         static_cast<const int64_t*>(label_buf.data()), step, nullptr);
}

void record_step(StepStats& stats, const Tensor& loss, const Tensor& param_sq, const Tensor& logits,
                 const StepOnDevice& on_device) {
  HEMO_CHECK(on_device.labels && on_device.step, "record_step: no labels or step number on the device");
  record(stats, loss, param_sq, logits, logits.dim() == 2 ? logits.size(0) : -1, on_device.labels, 0, on_device.step);
}

}  // namespace hemo::nn
