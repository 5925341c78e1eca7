#include "tools/bench_step.h"

#include <algorithm>

#include "models/inference.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_loss.h"
#include "nn/ops_step.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"

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
  if (c.cuda_graphs && mode == StepMode::train) {  // the batch as the loader hands it over: NCHW floats on the host
    const Tensor host = x_.to(Device::cpu());
    host_batch_.images = data::FloatBuffer::heap(static_cast<size_t>(host.numel()));
    std::copy_n(host.data<float>(), host.numel(), host_batch_.images.data);
    host_batch_.n = x_.size(0), host_batch_.c = x_.size(1), host_batch_.h = x_.size(2), host_batch_.w = x_.size(3);
    host_batch_.labels = labels_;
  }
  channels_last_ = c.channels_last;
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
  if (c.cuda_graphs) captured_ = std::make_unique<train::CapturedStep>(device, *opt_, default_generator());
}

double BenchStep::last_loss() { return meter_ ? meter_->read().last_loss : 0.0; }

void BenchStep::run(StepRegions* regions) {
  if (!train_) {
    NoGradGuard no_grad;
    const Tensor y = (*model_)(x_);
    synchronize(device_);
    return;
  }
  if (!captured_) {
    run_eager(regions);
  } else if (warmups_ < train::CapturedStep::kWarmupSteps) {
    captured_->eager([&] { run_eager(regions); });
    ++warmups_;
  } else {
    run_captured();
  }
}

// The step the trainer captures (train/trainer.cpp), reading the labels on the device.
void BenchStep::run_captured() {
  HEMO_CHECK(!reducer_, "bench: --cuda-graphs does not replay a distributed step");
  captured_->run(host_batch_, 0, [&](const Tensor& x, const nn::StepOnDevice& in, bool capturing) {
    opt_->zero_grad();
    const Tensor logits = (*model_)(x.to(channels_last_ ? MemoryFormat::channels_last : MemoryFormat::contiguous));
    const Tensor loss = nn::cross_entropy(logits, in.labels);
    loss.backward();
    meter_->record(loss, logits, in, nn::grad_squares(opt_params_));
    if (capturing)
      opt_->launch_captured();
    else
      opt_->step();
  });
  if (sync_every_step_) (void)meter_->read();
  synchronize(device_);
}

void BenchStep::run_eager(StepRegions* regions) {
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
