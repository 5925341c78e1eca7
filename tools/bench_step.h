// The training step that `hemo bench train` times and `hemo profile --mode train` takes apart:
// what the trainer's train_step does (forward, cross-entropy, zero_grad, backward, the step meter's
// bookkeeping (train/step_meter.h; read within the step under --sync-every-step, as the trainer's
// synchronous mode does), SGD with momentum 0.9) on one synthetic batch held on the device, then
// a device synchronize; with --cuda-graphs, the same step replayed as the trainer replays it. The
// inference step is a forward under a NoGradGuard in eval mode, of the model as trained (`infer`)
// or prepared as hemo-infer prepares it (`folded`: models::prepare_for_inference).
// A StepRegions observer (may be null) is told where each phase begins and ends, so the profiler
// can name the time outside the model's modules.
#pragma once
#include <memory>

#include "nn/module.h"
#include "tools/bench_common.h"
#include "data/batch.h"
#include "train/captured_step.h"
#include "train/grad_reduce.h"
#include "train/optim.h"
#include "train/step_meter.h"

namespace hemo::cli::bench {

struct StepRegions {
  virtual ~StepRegions() = default;
  virtual void begin(const char* region) = 0;  // "loss", "zero_grad", "backward", "meter", "optimizer"
  virtual void end() = 0;
};

enum class StepMode { train, infer, folded };

class BenchStep {
 public:
  BenchStep(const ModelCase& c, Device device, StepMode mode);
  void run(StepRegions* regions = nullptr);  // one step, synchronized
  // With a reducer, a training step averages its gradients over the reducer's ranks between
  // backward and the optimizer, as `hemo train --distributed` does (train/grad_reduce.h); null
  // turns that off again (the same step on this rank alone).
  void set_reducer(train::GradReducer* reducer) { reducer_ = reducer; }
  nn::Module& model() { return *model_; }
  double last_loss();  // the last step's loss (reads the step meter)

 private:
  void run_eager(StepRegions* regions);
  void run_captured();

  Device device_;
  bool train_;
  nn::ModulePtr model_;
  std::unique_ptr<train::Sgd> opt_;
  std::vector<Tensor> opt_params_;  // the parameters, listed once
  std::unique_ptr<train::StepMeter> meter_;
  bool sync_every_step_ = false;
  train::GradReducer* reducer_ = nullptr;
  Tensor x_;
  std::vector<int64_t> labels_;
  // --cuda-graphs: the step replayed (train/captured_step.h) from the batch on the host, uploaded
  // each step as the trainer uploads its batches.
  std::unique_ptr<train::CapturedStep> captured_;
  data::Batch host_batch_;
  int warmups_ = 0;
  bool channels_last_ = false;
};

}  // namespace hemo::cli::bench
