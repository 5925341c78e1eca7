#include "nn/ops_loss.h"

#include <memory>

#include "kernels/reduce.h"
#include "kernels/softmax_xent.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
// The labels copied to `device`: the kernels read them through a plain pointer.
std::shared_ptr<Storage> label_storage(const std::vector<int64_t>& labels, Device device) {
  const size_t bytes = labels.size() * sizeof(int64_t);
  auto s = std::make_shared<Storage>(bytes, device);
  if (bytes) upload_bytes(s->data(), device, labels.data(), bytes);  // queued: no wait for the device
  return s;
}

// mean's divisor, sum_i w[y_i] (N without weights), computed on the host from the K weights.
double target_weight_sum(const std::vector<int64_t>& labels, const Tensor& class_weights) {
  if (!class_weights.defined()) return static_cast<double>(labels.size());
  const std::vector<double> w = class_weights.to_vector<double>();
  double s = 0;
  for (int64_t y : labels) s += w[static_cast<size_t>(y)];
  return s;
}

void check_logits(const Tensor& logits, const Tensor& class_weights, double label_smoothing) {
  HEMO_CHECK(logits.dim() == 2, "cross_entropy: expected logits [N, K], got ", logits.str());
  HEMO_CHECK(logits.size(1) >= 1, "cross_entropy: logits ", logits.str(), " have no classes");
  check_same_place("cross_entropy", {logits, class_weights});
  HEMO_CHECK(!class_weights.defined() || class_weights.shape() == Shape{logits.size(1)},
             "cross_entropy: class_weights must be [", logits.size(1), "], got ", class_weights.str());
  HEMO_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0, "cross_entropy: label_smoothing must be in [0, 1), got ",
             label_smoothing);
}

// The loss from labels `y` in the logits' device memory; `weight_sum`: the mean's divisor.
Tensor cross_entropy_on(const Tensor& logits, const int64_t* y, const Tensor& class_weights, double label_smoothing,
                        Reduction reduction, double weight_sum) {
  const int64_t n = logits.size(0), k = logits.size(1);
  const bool grad = needs_grad({logits});
  Tensor rows = Tensor::empty({n}, logits.dtype(), logits.device());
  Tensor dz = grad ? Tensor::empty_like(logits) : Tensor();
  dispatch("cross_entropy", logits, [&](auto backend, auto t) {
    using T = decltype(t);
    softmax_xent_fwd(backend, SoftmaxXentFwd<T>{.n = n,
                                                .k = k,
                                                .logits = logits.data<T>(),
                                                .labels = y,
                                                .weight = class_weights.defined() ? class_weights.data<T>() : nullptr,
                                                .smoothing = label_smoothing,
                                                .loss = rows.data<T>(),
                                                .dz = grad ? dz.data<T>() : nullptr});
  });

  Tensor out = rows;
  double scale = 1.0;  // d out / d loss_i for the reductions
  if (reduction != Reduction::none) {
    if (reduction == Reduction::mean) scale = 1.0 / weight_sum;
    out = Tensor::empty({}, logits.dtype(), logits.device());
    dispatch("cross_entropy", logits, [&](auto backend, auto t) {
      using T = decltype(t);
      sum_axis(backend, 1, n, 1, scale, rows.data<T>(), out.data<T>());
    });
  }
  if (!grad) return out;
  const int64_t gy_stride = reduction == Reduction::none ? 1 : 0;
  record(out, "cross_entropy", {logits}, [n, k, dz, gy_stride, scale](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(dz);
    dispatch("cross_entropy", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      softmax_xent_bwd(backend, SoftmaxXentBwd<T>{.n = n,
                                                  .k = k,
                                                  .dz = dz.data<T>(),
                                                  .gy = gy.data<T>(),
                                                  .gy_stride = gy_stride,
                                                  .scale = scale,
                                                  .gx = gx.data<T>()});
    });
    return {gx};
  });
  return out;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& labels, const Tensor& class_weights,
                     double label_smoothing, Reduction reduction) {
  check_logits(logits, class_weights, label_smoothing);
  const int64_t n = logits.size(0), k = logits.size(1);
  HEMO_CHECK(static_cast<int64_t>(labels.size()) == n, "cross_entropy: ", labels.size(), " labels for logits ",
             logits.str());
  for (size_t i = 0; i < labels.size(); ++i)
    HEMO_CHECK(labels[i] >= 0 && labels[i] < k, "cross_entropy: label ", labels[i], " at index ", i,
               " is outside [0, ", k, ") for logits ", logits.str());
  const auto label_buf = label_storage(labels, logits.device());  // freed after the queued kernels (stream order)
  return cross_entropy_on(logits, static_cast<const int64_t*>(label_buf->data()), class_weights, label_smoothing,
                          reduction, target_weight_sum(labels, class_weights));
}

Tensor cross_entropy(const Tensor& logits, const int64_t* device_labels, double label_smoothing, Reduction reduction) {
  check_logits(logits, {}, label_smoothing);
  HEMO_CHECK(device_labels, "cross_entropy: no labels on the device");
  return cross_entropy_on(logits, device_labels, {}, label_smoothing, reduction, static_cast<double>(logits.size(0)));
}

}  // namespace hemo::nn
