#include "kernels/step_stats.h"

namespace hemo::cpu {

void step_stats_reset(Backend, double* stats) {
  for (int i = 0; i < kStatsSize; ++i) stats[i] = 0;
  stats[kBadStep] = -1;
}

template <class T> void step_stats(Backend, const StepStatsArgs<T>& a) {
  int64_t correct = 0;
  for (int64_t r = 0; r < a.n; ++r) correct += row_correct(a, r);
  update_step_stats(a, static_cast<double>(correct));
}

template void step_stats<float>(Backend, const StepStatsArgs<float>&);
template void step_stats<double>(Backend, const StepStatsArgs<double>&);

}  // namespace hemo::cpu
