// --resume: a run that crashes after computing epoch 2 (before that epoch's checkpoint is
// written) and is resumed gives, on the CPU, the same per-epoch losses as the uninterrupted run,
// bit for bit, and the same final weights; a resume refuses a changed split.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/epoch_log.h"
#include "train/interrupt.h"
#include "train/trainer.h"

using namespace hemo;
using namespace hemo::train;
using hemo::test::quiet;
using hemo::test::tiny_config;
namespace fs = std::filesystem;

namespace {

struct Crash : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

TEST_CASE("resume: a run killed after epoch 2 and resumed equals the uninterrupted run bit for bit") {
  const fs::path base = test::train_work_dir("resume");
  fs::remove_all(base / "whole");
  fs::remove_all(base / "crashed");
  const TrainResult whole = run_training(tiny_config((base / "whole").string()), quiet);
  REQUIRE(whole.train_losses.size() == 3);

  TrainConfig c = tiny_config((base / "crashed").string());
  // Crash when epoch 2's summary line is logged: after its epochs.csv line, before its checkpoint.
  CHECK_THROWS_AS(run_training(c,
                               [](const std::string& line) {
                                 if (line.rfind("epoch 2/3:", 0) == 0) throw Crash("simulated crash");
                               }),
                  Crash);
  const nlohmann::json after_one = load_checkpoint((base / "crashed" / "last.safetensors").string()).train_state;
  CHECK(after_one["epoch"] == 0);
  CHECK(read_epoch_csv((base / "crashed" / "epochs.csv").string()).size() == 2);  // epoch 2 logged, not saved

  c.resume = true;
  const TrainResult resumed = run_training(c, quiet);
  CHECK(resumed.epochs_run == 2);  // epochs 2 and 3
  REQUIRE(resumed.train_losses.size() == 3);
  for (size_t e = 0; e < 3; ++e) {
    CAPTURE(e);
    CHECK(resumed.train_losses[e] == whole.train_losses[e]);  // exact
  }
  MESSAGE("per-epoch train losses, whole: ", whole.train_losses[0], " ", whole.train_losses[1], " ",
          whole.train_losses[2], "; resumed run identical");
  const auto a = read_epoch_csv((base / "whole" / "epochs.csv").string());
  const auto b = read_epoch_csv((base / "crashed" / "epochs.csv").string());
  REQUIRE(b.size() == 3);
  for (size_t e = 0; e < 3; ++e) {
    CHECK(a[e].val_loss == b[e].val_loss);
    CHECK(a[e].train_acc == b[e].train_acc);
  }
  const Checkpoint wa = load_checkpoint((base / "whole" / "last.safetensors").string());
  const Checkpoint wb = load_checkpoint((base / "crashed" / "last.safetensors").string());
  // The optimizer step count: one epoch's worth after the first epoch, three after three, resumed or not.
  const int64_t steps = wa.train_state.at("step").get<int64_t>();
  CHECK(steps > 0);
  CHECK(steps == 3 * after_one.at("step").get<int64_t>());
  CHECK(wb.train_state.at("step").get<int64_t>() == steps);
  REQUIRE(wa.model.size() == wb.model.size());
  for (size_t i = 0; i < wa.model.size(); ++i) {
    CAPTURE(wa.model[i].first);
    CHECK(wa.model[i].second.to_vector<float>() == wb.model[i].second.to_vector<float>());
  }
  CHECK(resumed.test.accuracy == whole.test.accuracy);
  CHECK(fs::exists(base / "crashed" / "report.html"));
}

TEST_CASE("resume: a run interrupted at a step (SIGINT) and resumed equals the uninterrupted run bit for bit") {
  const fs::path base = test::train_work_dir("resume_step");
  fs::remove_all(base);
  const TrainResult whole = run_training(tiny_config((base / "whole").string()), quiet);
  REQUIRE(whole.train_losses.size() == 3);
  // 24 training images in batches of 8: 3 steps an epoch. Step 4 is within epoch 2; step 3 ends
  // epoch 1's training, before its validation.
  for (const char* at : {"4", "3"}) {
    CAPTURE(at);
    const fs::path dir = base / (std::string("at") + at);
    TrainConfig c = tiny_config(dir.string());
    setenv("HEMO_INTERRUPT_AT_STEP", at, 1);
    try {
      run_training(c, quiet);
      FAIL("no interrupt");
    } catch (const Interrupted& e) {
      MESSAGE(e.what());
      CHECK(e.exit_status() == 130);
      CHECK(std::string(e.what()).find("--resume") != std::string::npos);
    }
    unsetenv("HEMO_INTERRUPT_AT_STEP");
    const nlohmann::json st = load_checkpoint((dir / "last.safetensors").string()).train_state;
    CHECK(st.at("step") == std::stoi(at));
    CHECK(st.at("partial").at("steps") == (std::string(at) == "4" ? 1 : 3));
    c.resume = true;
    const TrainResult resumed = run_training(c, quiet);
    REQUIRE(resumed.train_losses.size() == 3);
    for (size_t e = 0; e < 3; ++e) {
      CAPTURE(e);
      CHECK(resumed.train_losses[e] == whole.train_losses[e]);  // exact
    }
    const Checkpoint wa = load_checkpoint((base / "whole" / "last.safetensors").string());
    const Checkpoint wb = load_checkpoint((dir / "last.safetensors").string());
    CHECK(wb.train_state.at("step") == wa.train_state.at("step"));
    REQUIRE(wa.model.size() == wb.model.size());
    for (size_t i = 0; i < wa.model.size(); ++i) {
      CAPTURE(wa.model[i].first);
      CHECK(wa.model[i].second.to_vector<float>() == wb.model[i].second.to_vector<float>());
    }
  }
}

TEST_CASE("resume: refuses another split, a changed setting, and a missing checkpoint, with clear messages") {
  const fs::path base = test::train_work_dir("resume_refuse");
  fs::remove_all(base);
  TrainConfig c = tiny_config((base / "run").string());
  c.epochs = 1;
  run_training(c, quiet);
  c.resume = true;
  c.epochs = 2;  // may change
  TrainConfig other_seed = c;
  other_seed.seed = 6;  // may not: another seed draws another split, another initialization
  other_seed.lr = 0.5;
  CHECK_THROWS_WITH_AS(run_training(other_seed, quiet), doctest::Contains("--lr 0.5 (the run has 0.001); --seed 6 (the run has 5)"),
                       Error);
  // A manifest (which may move) whose images differ from those the run trained on.
  std::string csv;
  {
    std::ifstream in(base / "run" / "split.csv");
    csv.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = csv.find(",train\n");
  REQUIRE(at != std::string::npos);
  csv.replace(at, 7, ",test\n");  // one training image moved into the test split
  std::ofstream(base / "other_split.csv") << csv;
  c.manifest = (base / "other_split.csv").string();
  CHECK_THROWS_WITH_AS(run_training(c, quiet), doctest::Contains("split manifest changed"), Error);
  TrainConfig fresh = tiny_config((base / "nothing").string());
  fresh.resume = true;
  CHECK_THROWS_WITH_AS(run_training(fresh, quiet), doctest::Contains("does not exist"), Error);
  fs::create_directories(base / "empty");
  fresh.out = (base / "empty").string();
  CHECK_THROWS_WITH_AS(run_training(fresh, quiet), doctest::Contains("holds no training run to resume"), Error);
}
