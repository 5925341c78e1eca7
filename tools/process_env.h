// Process-wide settings hemo's executables apply before doing any work.
//
// OpenMP wait policy: libgomp's default lets idle worker threads spin for a while after each
// parallel region. hemo runs its data-loader threads on the same cores as the OpenMP threads of
// the GEMM, so spinning workers steal the cores the loader needs and vice versa; on a busy
// 2-core machine a parallel region then took ~18 ms to start and join instead of ~11 us.
// libgomp reads OMP_WAIT_POLICY once, when the library loads, so the only way to set it from
// inside is to re-execute: when the user has not chosen a policy, hemo sets "passive" and
// execs itself once (argv unchanged). A user's own OMP_WAIT_POLICY is always respected.
#pragma once
#include <cstdlib>
#include <unistd.h>

namespace hemo::cli {

inline void apply_process_env(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default
}

}  // namespace hemo::cli
