// A training step's loss, accuracy and gradient norm, accumulated where the step ran
// (kernels/step_stats.h), so that the step itself needs no host synchronization; train/step_meter.h
// reads them back once per logging interval.
#pragma once
#include <vector>

#include "core/storage.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// A block of kStatsSize doubles of step statistics on `device` (float64 tensors live on the CPU
// only, so this is raw storage), reset at construction.
class StepStats {
 public:
  explicit StepStats(Device device);
  void reset();                    // queued, no wait
  std::vector<double> read() const;  // copies back: waits for the device
  Device device() const { return storage_.device(); }
  double* data() const { return static_cast<double*>(storage_.data()); }

 private:
  Storage storage_;
};

// [p] with sum(g * g) of each parameter's gradient (float, summed in double as nn::sum does; 0
// for a parameter without a gradient), on the parameters' device. No autograd.
Tensor grad_squares(const std::vector<Tensor>& params);

// Scales the parameters' gradients in place so that their global L2 norm is at most max_norm
// (kernels/grad_clip.h), from param_sq = grad_squares(params), on their device: no host wait.
void clip_grads_(const std::vector<Tensor>& params, const Tensor& param_sq, double max_norm);

// Adds one step to `stats` (kernels/step_stats.h): its mean `loss` (one value), `param_sq` from
// grad_squares, the logits [n, k] and the n labels (uploaded without waiting), and its number.
void record_step(StepStats& stats, const Tensor& loss, const Tensor& param_sq, const Tensor& logits,
                 const std::vector<int64_t>& labels, int64_t step);

// A step's labels and number already in the step's device memory, for a step captured into a CUDA
// graph (train/captured_step.h): its replays read the values copied there before each replay.
struct StepOnDevice {
  const int64_t* labels = nullptr;  // n labels in [0, k)
  const int64_t* step = nullptr;    // the step's number
};
// The same with them on the device: nothing is uploaded.
void record_step(StepStats& stats, const Tensor& loss, const Tensor& param_sq, const Tensor& logits,
                 const StepOnDevice& on_device);

}  // namespace hemo::nn
