// The run directory's writers on a full disk: /dev/full answers every write with ENOSPC. Each
// error names the file and the reason (tests/robustness/disk_full_test.py runs the same faults
// through `hemo train` on a small tmpfs).
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>

#include "core/error.h"
#include "train/csv_json.h"
#include "train/epoch_log.h"
#include "train/metrics.h"
#include "tests/support/child_process.h"

using namespace hemo;
using namespace hemo::train;

namespace {

std::string message_of(const std::function<void()>& f) { return test::error_message(f); }

}  // namespace

TEST_CASE("EpochCsv on a full disk: the append fails naming the file and the reason") {
  REQUIRE(std::filesystem::exists("/dev/full"));
  EpochCsv log("/dev/full");
  const std::string m = message_of([&] { log.append(EpochRecord{.epoch = 1, .train_loss = 2.0}); });
  CHECK_MESSAGE(m.find("/dev/full") != std::string::npos, m);
  CHECK_MESSAGE(m.find("No space left on device") != std::string::npos, m);
}

TEST_CASE("evaluation files in a missing directory: the error names the file and the reason") {
  const std::string dir = std::string(HEMO_TEST_WORK_DIR) + "/write_errors/absent";
  std::filesystem::remove_all(dir);
  const Metrics m = compute_metrics({0, 1}, {0, 1}, {{0.9f, 0.1f}, {0.2f, 0.8f}}, {"a", "b"});
  const std::string e1 = message_of([&] { write_metrics_json(dir + "/metrics.json", m); });
  CHECK_MESSAGE(e1.find(dir + "/metrics.json") != std::string::npos, e1);
  CHECK_MESSAGE(e1.find("No such file or directory") != std::string::npos, e1);
  const std::string e2 =
      message_of([&] { write_predictions_csv(dir + "/predictions.csv", {"x.png"}, {0}, {1}, {}, {"a", "b"}); });
  CHECK_MESSAGE(e2.find(dir + "/predictions.csv") != std::string::npos, e2);
}
