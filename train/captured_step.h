// --cuda-graphs: the trainer's step captured once into a CUDA graph and replayed, one
// cudaGraphLaunch per step instead of hundreds of kernel launches (core/cuda/graph.h).
//
// A replay repeats the captured kernels with their captured arguments and addresses, so
// everything that changes from step to step is read from device memory that run() fills before
// each replay, on the caller's stream (the replay is ordered after it):
//   - the batch's images and labels: fixed device buffers (work gets them as `x` and `in.labels`);
//   - the step's number (in.step, for the step meter, train/step_meter.h);
//   - dropout's random counters: the captured dropout kernels add a device base that run()
//     sets to the default generator's offset, then advances the generator by the blocks one step
//     reserves (Generator::begin_relative, tensor/rng.h);
//   - the optimizer's learning rate and bias corrections (Optimizer::stage_captured, train/optim.h).
// Each replay therefore computes what the same step run eagerly would, bit for bit.
//
// The sequence: the first kWarmupSteps full batches run the caller's eager step under eager(), on
// the graph's stream, which creates the optimizer's state and searches the cuDNN algorithms (a
// capture may not synchronize). The first run() rehearses: `work` runs eagerly on the graph's
// stream with capturing = false (the optimizer's step() then), which leaves that stream's
// allocator bins holding the blocks the same work asks for under capture; a block still missing
// then is allocated at capture time (CUDA's relaxed capture mode), and all of them are held for
// the replays (MobileNetV2's capture asked for one 16 KB block more than the rehearsal left). The
// second run() captures: `work` runs once on the host with the capture active (capturing = true:
// optimizer.launch_captured()), then the step is staged and replayed; every later batch of the
// same shape is staged and replayed. Work that cannot be captured (a host read,
// a host-side random draw, an upload of host data) makes run() throw an Error that names it.
// Batches of another size (an epoch's last) take the eager path on the caller's stream.
// Memory: the graph's stream keeps the blocks its step uses cached for the replays (held out of
// cuda_empty_cache while the graph lives), so the eager last batch and validation, on the caller's
// stream, use blocks of their own: up to about twice the eager run's device memory.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "data/loader.h"
#include "nn/ops_step.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"
#include "train/optim.h"

namespace hemo::train {

class CapturedStep {
 public:
  // One training step, queued on the current stream: forward of x (contiguous f32 [N, C, H, W]),
  // loss against in.labels, backward, bookkeeping, clip, then the update: optimizer.step() when
  // `capturing` is false (the rehearsal), optimizer.launch_captured() when it is true. It must
  // queue the same work every time.
  using Work = std::function<void(const Tensor& x, const nn::StepOnDevice& in, bool capturing)>;
  static constexpr int kWarmupSteps = 1;

  // On `device` (CUDA; an Error in a build without CUDA or for the CPU). `gen`: the generator the
  // model's dropout layers draw from.
  CapturedStep(Device device, Optimizer& optimizer, Generator& gen);
  ~CapturedStep();
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;

  // Runs `fn` (an eager step) with the graph's stream current: the warm-up before the capture.
  void eager(const std::function<void()>& fn);
  // Stages `batch` (its labels already checked to lie in [0, K)) and the step's number; rehearses
  // `work` at the first call, captures it at the second, and replays from then on. Every call's
  // batch must have the first one's shape.
  void run(const data::Batch& batch, int64_t step, const Work& work);
  bool captured() const;
  int64_t replays() const { return replays_; }
  uint64_t rng_blocks_per_step() const { return rng_blocks_; }
  // cudaMalloc calls made during the capture (0 when the cache served every block).
  uint64_t capture_mallocs() const { return capture_mallocs_; }

 private:
  struct Graph;
  Device device_;
  Optimizer& optimizer_;
  Generator& gen_;
  Tensor x_;                            // the batch's images
  std::shared_ptr<Storage> labels_;     // the batch's labels
  std::shared_ptr<Storage> step_block_;  // int64 step number, uint64 dropout counter base
  uint64_t rng_blocks_ = 0;
  int64_t replays_ = 0;
  uint64_t capture_mallocs_ = 0;
  bool rehearsed_ = false;
  std::unique_ptr<Graph> graph_;        // last: destroyed first, after its last replay, before the buffers
};

}  // namespace hemo::train
