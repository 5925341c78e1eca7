// TensorBoard event files: the CRC-32C check value, and files written through RunFiles read back
// by TensorBoard's own loader (the `tensorboard` package from PyPI, installed into a venv under
// the build tree; failing to install it fails the test).
#include "train/tensorboard.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tests/train/train_test_util.h"
#include "train/run_files.h"

using namespace hemo;
using namespace hemo::train;
using hemo::test::shell_quote;

TEST_CASE("crc32c: the standard check value and TFRecord masking") {
  CHECK(crc32c("123456789", 9) == 0xe3069283u);
  CHECK(crc32c("", 0) == 0u);
  const uint32_t c = crc32c("123456789", 9);
  CHECK(masked_crc32c("123456789", 9) == ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST_CASE("tensorboard: RunFiles' event files hold every logged scalar, read by TensorBoard") {
  std::string why;
  const std::string py = test::venv_python("venv-tensorboard", "tensorboard",
                                           "from tensorboard.backend.event_processing import event_accumulator", &why);
  REQUIRE_MESSAGE(!py.empty(), why);

  const auto dir = test::train_work_dir("tensorboard_run");
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(e.path());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<EpochRecord> epochs = {{1, 1.75, 0.25, 1.5, 0.375, 1e-3, 812.5, 3.0},
                                     {2, 0.875, 0.625, 0.75, 0.6875, 1e-3, 900.25, 2.5},
                                     {3, 0.4375, 0.8125, nan, nan, 1e-4, 950.0, 2.25}};  // no validation
  {
    RunFiles files(dir.string(), false);
    for (const auto& r : epochs) files.log_epoch(r);
    CHECK(files.events_path().find("tfevents") != std::string::npos);
  }
  std::string out, err;
  const std::string script = std::string(HEMO_SOURCE_DIR) + "/tests/train/read_tfevents.py";
  const int rc =
      test::run_command(shell_quote(py) + " " + shell_quote(script) + " " + shell_quote(dir.string()), &out, &err);
  REQUIRE_MESSAGE(rc == 0, "read_tfevents.py failed:\n", err);
  const nlohmann::json got = nlohmann::json::parse(out);
  MESSAGE("TensorBoard read tags: ", got.size(), " ", out.substr(0, 160), "...");

  auto expect = [&](const std::string& tag, double EpochRecord::*field) {
    CAPTURE(tag);
    REQUIRE(got.contains(tag));
    std::vector<std::pair<int, double>> want;
    for (const auto& r : epochs)
      if (std::isfinite(r.*field)) want.emplace_back(r.epoch, r.*field);
    const auto& series = got[tag];
    REQUIRE(series.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(series[i][0].get<int>() == want[i].first);
      // simple_value is float32: the values above are exact in float32, lr within rounding.
      CHECK(series[i][1].get<double>() == doctest::Approx(want[i].second).epsilon(1e-7));
      CHECK(series[i][2].get<double>() > 1.6e9);  // a real wall time
    }
  };
  expect("train/loss", &EpochRecord::train_loss);
  expect("train/accuracy", &EpochRecord::train_acc);
  expect("val/loss", &EpochRecord::val_loss);
  expect("val/accuracy", &EpochRecord::val_acc);
  expect("lr", &EpochRecord::lr);
  expect("images_per_s", &EpochRecord::images_per_s);
  CHECK(got.size() == 6);
}
