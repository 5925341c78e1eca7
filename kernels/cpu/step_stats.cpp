#include "kernels/step_stats.h"

#include <cmath>

namespace hemo::cpu {

void step_stats_reset(Backend, double* stats) {
  for (int i = 0; i < kStatsSize; ++i) stats[i] = 0;
  stats[kBadStep] = -1;
}

template <class T> void step_stats(Backend, const StepStatsArgs<T>& a) {
  T sq = 0;
  int64_t bad_param = -1;
  for (int64_t i = 0; i < a.p; ++i) {
    sq += a.param_sq[i];
    if (bad_param < 0 && !std::isfinite(a.param_sq[i])) bad_param = i;
  }
  const double loss = static_cast<double>(*a.loss), norm = std::sqrt(static_cast<double>(sq));
  const bool bad = !std::isfinite(loss) || !std::isfinite(sq);
  double* s = a.stats;
  s[kLastLoss] = loss, s[kLastNorm] = norm, s[kLastBad] = bad ? 1 : 0, s[kLastParam] = static_cast<double>(bad_param);
  if (bad) {
    if (s[kBadStep] < 0)
      s[kBadStep] = static_cast<double>(a.step), s[kBadLoss] = loss, s[kBadNorm] = norm,
      s[kBadParam] = static_cast<double>(bad_param);
    return;
  }
  int64_t correct = 0;
  for (int64_t r = 0; r < a.n; ++r) {
    const T* row = a.logits + r * a.k;
    int64_t best = 0;
    for (int64_t c = 1; c < a.k; ++c)
      if (row[c] > row[best]) best = c;
    correct += best == a.labels[r];
  }
  s[kLossSum] += loss * static_cast<double>(a.n);
  s[kCorrect] += static_cast<double>(correct);
  s[kSeen] += static_cast<double>(a.n);
}

template void step_stats<float>(Backend, const StepStatsArgs<float>&);
template void step_stats<double>(Backend, const StepStatsArgs<double>&);

}  // namespace hemo::cpu
