// The step's bookkeeping on the device (the contract is kernels/step_stats.h): one block; its
// threads take the rows of the logits (a row's first maximum, as the CPU finds it) and the block
// sums their counts; thread 0 makes the update (update_step_stats, shared with the CPU).
#include "kernels/cuda/launch.cuh"
#include "kernels/step_stats.h"

namespace hemo::cuda {

namespace {
__global__ void reset_kernel(double* stats) {
  const int i = static_cast<int>(threadIdx.x);
  if (i < kStatsSize) stats[i] = i == kBadStep ? -1.0 : 0.0;
}

template <class T>
__global__ void step_stats_kernel(StepStatsArgs<T> a) {
  double correct = 0;
  for (int64_t r : block_stride(a.n)) correct += row_correct(a, r) ? 1.0 : 0.0;
  correct = block_sum(correct);  // whole numbers: exact in any order
  if (threadIdx.x == 0) update_step_stats(a, correct);
}
}  // namespace

void step_stats_reset(Backend, double* stats) { HEMO_LAUNCH(reset_kernel, 1, 32, 0, stats); }

template <class T> void step_stats(Backend, const StepStatsArgs<T>& a) {
  HEMO_LAUNCH(step_stats_kernel<T>, 1, kRowThreads, 0, a);
}

template void step_stats<float>(Backend, const StepStatsArgs<float>&);

}  // namespace hemo::cuda
