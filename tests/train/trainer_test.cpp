// The training loop's stopping rules and parameter selection: early stopping with patience on the
// monitored metric, a frozen backbone (only the head trains), and a non-finite loss stopping the
// run within one step, leaving the previous checkpoint as it was.
#include "train/trainer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "models/registry.h"
#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/epoch_log.h"

using namespace hemo;
using namespace hemo::train;
using hemo::test::quiet;
using hemo::test::tiny_config;
namespace fs = std::filesystem;

TEST_CASE("early stopping: patience epochs without improvement of the monitored metric end the run") {
  const fs::path base = test::train_work_dir("early_stop");
  fs::remove_all(base);
  TrainConfig c = tiny_config((base / "run").string());
  c.epochs = 10;
  c.lr = 1e-12;  // the weights stand still, so validation accuracy never improves after epoch 1
  c.monitor = Monitor::val_acc;
  c.patience = 2;
  std::vector<std::string> lines;
  const TrainResult r = run_training(c, [&](const std::string& l) { lines.push_back(l); });
  CHECK(r.epochs_run == 3);  // epoch 1 sets the best, epochs 2 and 3 do not beat it
  CHECK(r.best_epoch == 0);
  CHECK(read_epoch_csv((base / "run" / "epochs.csv").string()).size() == 3);
  bool said = false;
  for (const auto& l : lines) said |= l.find("early stop: val_acc has not improved for 2 epochs") != std::string::npos;
  CHECK(said);
  CHECK(load_checkpoint((base / "run" / "best.safetensors").string()).train_state["epoch"] == 0);
  CHECK(load_checkpoint((base / "run" / "last.safetensors").string()).train_state["epoch"] == 2);
}

TEST_CASE("freeze_backbone: only the classifier head changes") {
  const fs::path base = test::train_work_dir("freeze");
  fs::remove_all(base);
  TrainConfig c = tiny_config((base / "run").string());
  c.epochs = 1;
  c.freeze_backbone = true;
  c.lr = 1e-2;
  run_training(c, quiet);
  const Checkpoint after = load_checkpoint((base / "run" / "last.safetensors").string());
  // The same initial weights: the trainer draws them from Generator(seed, 1).
  Generator gen(c.seed, 1);
  models::ModelOptions o;
  o.input_size = c.input_size;
  const auto fresh = models::create_model("pbcnet7", 8, o, gen)->state_dict();
  REQUIRE(fresh.size() == after.model.size());
  int changed = 0, same = 0;
  for (size_t i = 0; i < fresh.size(); ++i) {
    CAPTURE(fresh[i].first);
    const bool equal = fresh[i].second.to_vector<float>() == after.model[i].second.to_vector<float>();
    const bool head = fresh[i].first.rfind("classifier.2.", 0) == 0;  // pbcnet7's head
    CHECK(equal == !head);
    (equal ? same : changed) += 1;
  }
  CHECK(changed == 2);  // classifier.2.weight and .bias
  CHECK(same == static_cast<int>(fresh.size()) - 2);
}

TEST_CASE("a non-finite loss stops the run within one step; the previous checkpoint stays") {
  const fs::path base = test::train_work_dir("nonfinite");
  fs::remove_all(base);
  TrainConfig c = tiny_config((base / "run").string());
  // Epoch 1 trains normally at lr 1e-3; epoch 2's lr of 1e30 blows the weights up with its first
  // update, so its second step meets an infinite or NaN loss.
  c.optimizer = OptimizerKind::sgd;
  c.momentum = 0;
  c.schedule = ScheduleKind::step;
  c.step_size = 1;
  c.gamma = 1e33;
  const std::string last = (base / "run" / "last.safetensors").string();
  CHECK_THROWS_WITH_AS(run_training(c, quiet), doctest::Contains("epoch 2, step 2"), Error);
  const Checkpoint ck = load_checkpoint(last);
  CHECK(ck.train_state["epoch"] == 0);  // epoch 1's checkpoint, untouched
  for (const auto& [name, t] : ck.model) {
    const auto v = t.to_vector<float>();
    CHECK_MESSAGE(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }), name);
  }
}
