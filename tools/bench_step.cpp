#include "tools/bench_step.h"

#include "models/inference.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_loss.h"
#include "nn/ops_step.h"
#include "tensor/autograd.h"

namespace hemo::cli::bench {

namespace {
// begin/end of a region when there is an observer.
struct Region {
  Region(StepRegions* r, const char* name) : r_(r) {
    if (r_) r_->begin(name);
  }
  ~Region() {
    if (r_) r_->end();
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  StepRegions* r_;
};
}  // namespace

BenchStep::BenchStep(const ModelCase& c, Device device, StepMode mode)
    : device_(device), train_(mode == StepMode::train), model_(make_model(c, device)),
      x_(synthetic_images(c.batch_size, c.input_size, device)),
      labels_(synthetic_labels(c.batch_size, c.num_classes)) {
  if (c.channels_last) x_ = x_.to(MemoryFormat::channels_last);
  model_->train(train_);
  if (mode == StepMode::folded) models::prepare_for_inference(*model_);
  if (!train_) {
    model_->set_requires_grad(false);
    return;
  }
  train::SgdOptions so;
  so.lr = 0.01;
  so.momentum = 0.9;
  opt_params_ = model_->parameters();
  opt_ = std::make_unique<train::Sgd>(opt_params_, so);
  opt_->set_multi_tensor(c.multi_tensor);
  meter_ = std::make_unique<train::StepMeter>(device);
  sync_every_step_ = c.sync_every_step;
}

double BenchStep::last_loss() { return meter_ ? meter_->read().last_loss : 0.0; }

void BenchStep::run(StepRegions* regions) {
  if (!train_) {
    NoGradGuard no_grad;
    const Tensor y = (*model_)(x_);
    synchronize(device_);
    return;
  }
  const double share = reducer_ ? reducer_->begin_step(static_cast<double>(labels_.size())) : 1.0;
  const Tensor logits = (*model_)(x_);
  Tensor loss;
  {
    Region r(regions, "loss");
    loss = nn::cross_entropy(logits, labels_);
    if (reducer_) loss = nn::scale(loss, share);  // this rank's share of the global batch
  }
  {
    Region r(regions, "zero_grad");
    opt_->zero_grad();
  }
  {
    Region r(regions, "backward");
    loss.backward();
  }
  if (reducer_) {
    Region r(regions, "allreduce");
    reducer_->finish();
  }
  {
    Region r(regions, "meter");
    meter_->record(loss, logits, labels_, nn::grad_squares(opt_params_), 0);
    if (sync_every_step_) (void)meter_->read();
  }
  {
    Region r(regions, "optimizer");
    opt_->step();
    synchronize(device_);
  }
}

}  // namespace hemo::cli::bench
