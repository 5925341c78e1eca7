// Interrupts during training: SIGINT (Ctrl-C) and SIGTERM (`kill`, a batch scheduler's preemption).
//
// While an InterruptScope lives, the first of these signals is recorded (and a line on stderr says
// what will happen): interrupt_signal()
// returns it, and the trainer, which looks after every optimizer step, saves `last` (including
// the unfinished epoch's position, so --resume continues from that very step), prints how to
// resume and throws Interrupted. A second signal ends the process at once with exit status
// 128 + signal (the shell's convention: 130 for SIGINT, 143 for SIGTERM) and a line on stderr;
// a checkpoint being written then is lost, never the previous one (checkpoints are renamed into
// place, train/checkpoint.h). Outside a scope the signals keep their previous handlers.
//
// Test seam: HEMO_INTERRUPT_AT_STEP=N makes the trainer raise SIGINT itself after its N-th
// optimizer step of the process (1-based), so tests can stop a run at an exact step.
#pragma once
#include "core/error.h"

namespace hemo::train {

class InterruptScope {
 public:
  InterruptScope();   // installs the handlers and clears any recorded signal
  ~InterruptScope();  // restores the previous handlers
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

// The first SIGINT or SIGTERM received in the current scope; 0: none.
int interrupt_signal();

// Thrown by the trainer after it saved `last` on an interrupt. exit_status() = 128 + signal.
struct Interrupted : Error {
  Interrupted(int sig, const std::string& message) : Error(message), signal(sig) {}
  int exit_status() const { return 128 + signal; }
  int signal;
};

}  // namespace hemo::train
