// A training step's bookkeeping, done where the step ran so that the step needs no host
// synchronization (train/step_meter.h reads `stats` once per logging interval, not once per step).
//
// Inputs: the step's mean loss (one value), the squared L2 norms of its p parameter gradients
// (param_sq [p], each sum(g * g) as nn::sum computes it), the logits [n, k] and the labels [n].
//   sq   = param_sq[0] + param_sq[1] + ... + param_sq[p - 1], in that order, in T
//   norm = sqrt(double(sq))                       (the global gradient norm, before clipping)
//   bad  = loss or sq is not finite
// Updates stats (double [kStatsSize], OVERWRITTEN where named, zero before the first step):
//   kLastLoss = loss, kLastNorm = norm, kLastBad = bad ? 1 : 0,
//   kLastParam = the first i with a non-finite param_sq[i] (-1 when none)
//   not bad: kLossSum += loss * n; kCorrect += the rows whose first maximum is at their label
//            (a NaN never wins); kSeen += n
//   bad, and kBadStep < 0 (none recorded yet): kBadStep = step, kBadLoss = loss, kBadNorm = norm,
//            kBadParam = kLastParam
// A fresh stats block must have kBadStep = -1 (step_stats_reset). Labels must lie in [0, k).
// The CUDA kernel runs one block; it reads no host memory, and the host reads nothing back.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels/backend.h"

namespace hemo {

enum StepStat : int {
  kLossSum, kCorrect, kSeen, kLastLoss, kLastNorm, kLastBad, kLastParam, kBadStep, kBadLoss, kBadNorm, kBadParam,
  kStatsSize
};

template <class T>
struct StepStatsArgs {
  const T* loss = nullptr;          // [1]
  const T* param_sq = nullptr;      // [p]
  int64_t p = 0;
  const T* logits = nullptr;        // [n, k]
  const int64_t* labels = nullptr;  // [n]
  int64_t n = 0, k = 0;
  int64_t step = 0;
  const int64_t* step_at = nullptr;  // when set, the step's number is read here instead (a replayed CUDA graph's)
  double* stats = nullptr;          // [kStatsSize]
};

// false for an infinity and for NaN (v - v is NaN for both)
HEMO_HOST_DEVICE inline bool finite_value(double v) { return v - v == 0; }

// The update both devices make, written once: `correct` is the step's count of right rows.
template <class T>
HEMO_HOST_DEVICE inline void update_step_stats(const StepStatsArgs<T>& a, double correct) {
  T sq = 0;
  int64_t bad_param = -1;
  for (int64_t i = 0; i < a.p; ++i) {
    sq += a.param_sq[i];
    if (bad_param < 0 && !finite_value(a.param_sq[i])) bad_param = i;
  }
  const double loss = static_cast<double>(*a.loss), norm = sqrt(static_cast<double>(sq));
  const bool bad = !finite_value(loss) || !finite_value(sq);
  double* s = a.stats;
  s[kLastLoss] = loss, s[kLastNorm] = norm, s[kLastBad] = bad ? 1 : 0, s[kLastParam] = static_cast<double>(bad_param);
  if (bad) {
    if (s[kBadStep] < 0)
      s[kBadStep] = static_cast<double>(a.step_at ? *a.step_at : a.step), s[kBadLoss] = loss, s[kBadNorm] = norm,
      s[kBadParam] = s[kLastParam];
    return;
  }
  s[kLossSum] += loss * static_cast<double>(a.n);
  s[kCorrect] += correct;
  s[kSeen] += static_cast<double>(a.n);
}

// Whether row r's first maximum is at its label (a NaN never wins).
template <class T>
HEMO_HOST_DEVICE inline bool row_correct(const StepStatsArgs<T>& a, int64_t r) {
  const T* row = a.logits + r * a.k;
  int64_t best = 0;
  for (int64_t c = 1; c < a.k; ++c)
    if (row[c] > row[best]) best = c;
  return best == a.labels[r];
}

namespace cpu {
void step_stats_reset(Backend, double* stats);
template <class T> void step_stats(Backend, const StepStatsArgs<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/step_stats.cu): device pointers, float only, on the current stream.
namespace cuda {
void step_stats_reset(Backend, double* stats);
template <class T> void step_stats(Backend, const StepStatsArgs<T>& a);
}  // namespace cuda

}  // namespace hemo
