#include "train/step_meter.h"

#include <chrono>

#include "kernels/step_stats.h"
#include "nn/ops_step.h"

namespace hemo::train {

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

StepMeter::StepMeter(Device device, double read_interval_s)
    : stats_(device), interval_s_(read_interval_s), last_read_s_(now_s()) {}

void StepMeter::record(const Tensor& loss, const Tensor& logits, const std::vector<int64_t>& labels,
                       const Tensor& param_sq, int64_t step) {
  nn::record_step(stats_, loss.detach(), param_sq, logits.detach(), labels, step);
}

void StepMeter::record(const Tensor& loss, const Tensor& logits, const nn::StepOnDevice& on_device,
                       const Tensor& param_sq) {
  nn::record_step(stats_, loss.detach(), param_sq, logits.detach(), on_device);
}

StepTotals StepMeter::read() {
  const std::vector<double> s = stats_.read();
  last_read_s_ = now_s();
  StepTotals t;
  t.loss_sum = s[kLossSum];
  t.correct = static_cast<int64_t>(s[kCorrect]);
  t.seen = static_cast<int64_t>(s[kSeen]);
  t.last_loss = s[kLastLoss];
  t.last_norm = s[kLastNorm];
  t.last_bad = s[kLastBad] != 0;
  t.last_param = static_cast<int64_t>(s[kLastParam]);
  t.bad_step = static_cast<int64_t>(s[kBadStep]);
  t.bad_loss = s[kBadLoss];
  t.bad_norm = s[kBadNorm];
  t.bad_param = static_cast<int64_t>(s[kBadParam]);
  return t;
}

bool StepMeter::read_due() const { return now_s() - last_read_s_ >= interval_s_; }

void StepMeter::reset() { stats_.reset(); }

}  // namespace hemo::train
