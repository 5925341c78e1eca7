// `hemo train --help`: each switch says its default, and its --no- form is a line of its own (CLI11
// alone printed "--restore-best,--no-restore-best{false}" for a switch that is on by default).
#include <doctest/doctest.h>

#include "tests/train/train_test_util.h"

using namespace hemo;

TEST_CASE("hemo train --help: switches say their default; no {false}") {
  const auto r = test::run_captured(test::shell_quote(HEMO_BIN) + " train --help");
  REQUIRE(r.status == 0);
  CHECK_MESSAGE(r.out.find("{false}") == std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("Excludes") == std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("Test the best epoch, not the last (default: on)") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("(default: off)") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("--no-restore-best") != std::string::npos, r.out);
  // X and --no-X together are a usage error.
  const auto both = test::run_captured(test::shell_quote(HEMO_BIN) + " train --augment --no-augment --data x");
  CHECK(both.status == 2);
  CHECK_MESSAGE(both.err.find("--augment and --no-augment together") != std::string::npos, both.err);
}
