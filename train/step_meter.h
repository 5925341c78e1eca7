// Where a training step's loss, accuracy and gradient norm go. record() queues their bookkeeping
// on the step's device (nn/ops_step.h) and returns without waiting for the device; read() copies
// the totals back (the one host synchronization) when someone needs them: the progress line, at
// most every `read_interval_s` seconds; the end of an epoch; a checkpoint. A step that waits for
// nothing lets the host queue the next step's work while the device still runs this one.
//
// Synchronous mode reads after every step, as a training loop must when it acts on each step's
// values at once: skipping a non-finite step (--skip-nonfinite), --detect-anomaly, a distributed run's agreement on the step, and `--sync-every-step` to compare.
// A non-finite step in deferred mode is found at the next read; the device keeps the first one's
// number, loss, norm and parameter, so the error names the same step as synchronous mode would,
// and since every checkpoint is written after a read, none is written from such a step.
#pragma once
#include <cstdint>
#include <vector>

#include "nn/ops_step.h"
#include "tensor/tensor.h"

namespace hemo::train {

struct StepTotals {
  double loss_sum = 0;   // sum over the counted steps of loss * n
  int64_t correct = 0, seen = 0;
  double last_loss = 0, last_norm = 0;  // the last recorded step's (norm: of the gradients, before clipping)
  bool last_bad = false;                // the last step's loss or gradient norm is not finite
  int64_t last_param = -1;              // its first parameter whose gradient norm is not finite
  int64_t bad_step = -1;                // the first non-finite step since reset (-1: none) ...
  double bad_loss = 0, bad_norm = 0;    // ... its loss and norm,
  int64_t bad_param = -1;               // ... and the first parameter whose gradient norm is not finite
};

class StepMeter {
 public:
  StepMeter(Device device, double read_interval_s = 0.5);

  // The step's mean loss (before any distributed share), logits and labels, and its gradients'
  // squares (param_sq = nn::grad_squares(params), after backward; the clip takes them too).
  // Steps whose loss or gradient norm is not finite are not counted.
  void record(const Tensor& loss, const Tensor& logits, const std::vector<int64_t>& labels, const Tensor& param_sq,
              int64_t step);
  // The same with the labels and the step's number in device memory (a captured CUDA graph's step,
  // train/captured_step.h).
  void record(const Tensor& loss, const Tensor& logits, const nn::StepOnDevice& on_device, const Tensor& param_sq);
  StepTotals read();          // waits for the device
  bool read_due() const;      // read_interval_s has passed since the last read
  void reset();               // a new epoch: zero totals (queued, no wait)

 private:
  nn::StepStats stats_;
  double interval_s_;
  double last_read_s_ = 0;
};

}  // namespace hemo::train
