#include "train/setup.h"

#include "core/error.h"
#include "nn/layers.h"

namespace hemo::train {

data::TransformSpec train_transform(const TrainConfig& c, int side) {
  if (!c.augment) return data::TransformSpec::eval(side);
  data::TransformSpec t = data::TransformSpec::train(side);
  t.rotation = static_cast<float>(c.rotation);
  t.vflip = c.vflip ? 0.5f : 0.0f;
  t.quarter_turns = c.quarter_turns;
  if (c.crop_scale > 0) t.scale_min = static_cast<float>(c.crop_scale);
  if (c.crop_scale >= 1) t.ratio_min = t.ratio_max = 1.0f;  // the whole (square) image, resized
  if (!c.color_jitter) t.jitter = {};
  return t;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<Tensor> params) {
  if (c.optimizer == OptimizerKind::sgd) return std::make_unique<Sgd>(std::move(params), SgdOptions{c.lr, c.momentum, 0, c.weight_decay, c.nesterov});
  AdamOptions o;
  o.lr = c.lr;
  o.weight_decay = c.weight_decay;
  o.decoupled = c.optimizer == OptimizerKind::adamw;
  return std::make_unique<Adam>(std::move(params), o);
}

Schedule make_schedule(const TrainConfig& c) {
  Schedule s;
  s.kind = c.schedule;
  s.base_lr = c.lr;
  s.step_size = c.step_size;
  s.gamma = c.gamma;
  s.warmup_epochs = c.warmup_epochs;
  s.total_epochs = c.epochs;
  return s;
}

double loss_weight(const std::vector<int64_t>& labels, const Tensor& class_weights) {
  if (!class_weights.defined()) return static_cast<double>(labels.size());
  const std::vector<float> w = class_weights.to_vector<float>();
  double sum = 0;
  for (const int64_t label : labels) sum += w[static_cast<size_t>(label)];
  return sum;
}

void synchronize_batch_norms(nn::Module& model, const std::shared_ptr<Communicator>& comm) {
  for (auto& entry : model.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(entry.second)) {  // (CUDA: staged through the host, nn/ops_sync_norm.h)
      bn->sync = [comm](std::span<double> d) { comm->allreduce_sum(d, "the all-reduce of synchronized batch-norm sums"); };
    }
}

}  // namespace hemo::train
