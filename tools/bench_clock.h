// The clock of the `hemo bench` kernels commands: wall time, or this process's CPU time (all its
// threads), which on a machine shared with other work measures the work a single-threaded run
// does rather than the time it spent waiting for a core. (With several threads, CPU time also
// counts OpenMP's spin-waiting; compare it at --threads 1.)
#pragma once
#include <chrono>
#include <ctime>
#include <string>

#include "core/error.h"

namespace hemo::cli {

class BenchClock {
 public:
  explicit BenchClock(const std::string& name) : cpu_(name == "cpu") {
    HEMO_CHECK(name == "cpu" || name == "wall", "bench: --clock must be wall or cpu, got '", name, "'");
  }
  double now() const {
    if (!cpu_) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  const char* name() const { return cpu_ ? "process CPU time" : "wall time"; }

 private:
  bool cpu_;
};

}  // namespace hemo::cli
