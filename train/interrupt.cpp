#include "train/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace hemo::train {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  int expected = 0;
  if (g_signal.compare_exchange_strong(expected, sig)) {  // the first: recorded, handled by the trainer
    const char note[] = "\nhemo: interrupt: stopping after the current step and saving last (again: exit at once)\n";
    [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, note, sizeof note - 1);
    return;
  }
  // The second: only async-signal-safe calls from here.
  const char msg[] = "\nhemo: second interrupt: exiting at once (the last checkpoint saved is kept)\n";
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(128 + sig);
}

}  // namespace

InterruptScope::InterruptScope() {
  g_signal = 0;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read or write interrupted by the signal goes on
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int interrupt_signal() { return g_signal.load(); }

}  // namespace hemo::train
