// train/interrupt.h in a child process: the first SIGINT or SIGTERM is recorded and nothing else
// happens; a second ends the process at once with 128 + signal and a line on stderr; outside a
// scope the previous handler is back.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "tests/support/child_process.h"
#include "train/interrupt.h"

using namespace hemo::train;

namespace {

// The body in a child whose SIGINT and SIGTERM take their default actions first (doctest reports
// signals as crashes).
template <class Body>
std::pair<int, std::string> in_child(Body body) {
  const hemo::test::ChildResult r = hemo::test::run_in_child([&] {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    return body();
  });
  return {r.status, r.err};
}

}  // namespace

TEST_CASE("interrupt: the first signal is recorded, a second exits at once with 128 + signal") {
  for (const int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    auto [status, err] = in_child([sig] {
      const InterruptScope scope;
      if (interrupt_signal() != 0) return 10;
      std::raise(sig);
      if (interrupt_signal() != sig) return 11;  // recorded, the process goes on
      std::raise(sig);                           // ends the process: 128 + sig
      return 12;
    });
    CHECK(status == 128 + sig);
    CHECK_MESSAGE(err.find("interrupt: stopping after the current step") != std::string::npos, err);
    CHECK_MESSAGE(err.find("second interrupt: exiting at once") != std::string::npos, err);
  }
}

TEST_CASE("interrupt: a new scope starts clean; outside one the default action is back") {
  auto [status, err] = in_child([] {
    {
      const InterruptScope scope;
      std::raise(SIGTERM);
      if (interrupt_signal() != SIGTERM) return 10;
    }
    {
      const InterruptScope scope;
      if (interrupt_signal() != 0) return 11;
    }
    std::raise(SIGTERM);  // the default action: the process ends by the signal
    return 12;
  });
  CHECK(status == -SIGTERM);
  CHECK(Interrupted(SIGTERM, "x").exit_status() == 143);
}
