// The step's bookkeeping on the device (the contract is kernels/step_stats.h): one block; its
// threads take the rows of the logits (a row's first maximum, as the CPU finds it) and the block
// sums their counts; thread 0 adds the gradient norms in order and writes the stats.
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
  for (int64_t r : block_stride(a.n)) {
    const T* row = a.logits + r * a.k;
    int64_t best = 0;
    for (int64_t c = 1; c < a.k; ++c)
      if (row[c] > row[best]) best = c;
    correct += best == a.labels[r] ? 1.0 : 0.0;
  }
  correct = block_sum(correct);  // whole numbers: exact in any order
  if (threadIdx.x != 0) return;
  T sq = 0;
  int64_t bad_param = -1;
  for (int64_t i = 0; i < a.p; ++i) {
    sq += a.param_sq[i];
    if (bad_param < 0 && !isfinite(a.param_sq[i])) bad_param = i;
  }
  const double loss = static_cast<double>(*a.loss), norm = sqrt(static_cast<double>(sq));
  const bool bad = !isfinite(loss) || !isfinite(sq);
  double* s = a.stats;
  s[kLastLoss] = loss, s[kLastNorm] = norm, s[kLastBad] = bad ? 1 : 0, s[kLastParam] = static_cast<double>(bad_param);
  if (bad) {
    if (s[kBadStep] < 0)
      s[kBadStep] = static_cast<double>(a.step), s[kBadLoss] = loss, s[kBadNorm] = norm,
      s[kBadParam] = static_cast<double>(bad_param);
    return;
  }
  s[kLossSum] += loss * static_cast<double>(a.n);
  s[kCorrect] += correct;
  s[kSeen] += static_cast<double>(a.n);
}
}  // namespace

void step_stats_reset(Backend, double* stats) { HEMO_LAUNCH(reset_kernel, 1, 32, 0, stats); }

template <class T> void step_stats(Backend, const StepStatsArgs<T>& a) {
  HEMO_LAUNCH(step_stats_kernel<T>, 1, kRowThreads, 0, a);
}

template void step_stats<float>(Backend, const StepStatsArgs<float>&);

}  // namespace hemo::cuda
