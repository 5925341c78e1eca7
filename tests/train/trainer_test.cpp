// The training loop's stopping rules and parameter selection: early stopping with patience on the
// monitored metric, a frozen backbone (only the head trains), and a non-finite loss stopping the
// run (naming its step and parameter), leaving the previous checkpoint as it was; the step meter's
// deferred reads giving what reading every step gives (train/step_meter.h).
#include "train/trainer.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

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

namespace {

// The final weights of two runs: how many tensors differ at all.
int tensors_differing(const Checkpoint& a, const Checkpoint& b) {
  REQUIRE(a.model.size() == b.model.size());
  int differ = 0;
  for (size_t i = 0; i < a.model.size(); ++i) differ += a.model[i].second.to_vector<float>() != b.model[i].second.to_vector<float>();
  return differ;
}

}  // namespace

// Clipping takes the norm on the device (nn::clip_grads_), so a clipped run stays deferred too.
TEST_CASE("the step meter: deferred reads and --sync-every-step train the same model, bit for bit, clipped or not") {
  const fs::path base = test::train_work_dir("step_meter");
  fs::remove_all(base);
  std::map<double, Checkpoint> finals;
  for (const double clip : {0.0, 0.05}) {
    CAPTURE(clip);
    const fs::path dir = base / cat("clip", clip);
    TrainConfig c = tiny_config((dir / "deferred").string());
    c.clip_grad_norm = clip;
    setenv("HEMO_STEP_READ_INTERVAL_S", "1e9", 1);  // deferred: read at each epoch's end only
    const TrainResult deferred = run_training(c, quiet);
    unsetenv("HEMO_STEP_READ_INTERVAL_S");
    c.out = (dir / "synced").string();
    c.sync_every_step = true;
    const TrainResult synced = run_training(c, quiet);
    REQUIRE(deferred.train_losses.size() == 3);
    CHECK(deferred.train_losses == synced.train_losses);  // exact
    const Checkpoint a = load_checkpoint((dir / "deferred" / "last.safetensors").string());
    const Checkpoint b = load_checkpoint((dir / "synced" / "last.safetensors").string());
    for (size_t e = 0; e < 3; ++e) {
      CAPTURE(e);
      const auto& ha = a.train_state.at("history").at(e);
      const auto& hb = b.train_state.at("history").at(e);
      for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc"}) CHECK(ha.at(key) == hb.at(key));
    }
    const int differ = tensors_differing(a, b);
    MESSAGE("--clip-grad-norm ", clip, ": train losses ", deferred.train_losses[0], ", ", deferred.train_losses[1], ", ",
            deferred.train_losses[2], "; ", a.model.size(), " tensors, ", differ, " differ");
    CHECK(differ == 0);
    finals.emplace(clip, a);
  }
  // The clip did clip: its weights are not the unclipped run's.
  const int by_clip = tensors_differing(finals.at(0.0), finals.at(0.05));
  MESSAGE("clipped against unclipped: ", by_clip, " tensors differ");
  CHECK(by_clip > 0);
}

namespace {

// Epoch 1 trains normally at lr 1e-3; epoch 2's lr of 1e30 blows the weights up with its first
// update, so its second step meets an infinite or NaN loss, and every step after it too.
TrainConfig blowing_up(const fs::path& out) {
  TrainConfig c = tiny_config(out.string());
  c.optimizer = OptimizerKind::sgd;
  c.momentum = 0;
  c.schedule = ScheduleKind::step;
  c.step_size = 1;
  c.gamma = 1e33;
  return c;
}

}  // namespace

TEST_CASE("a non-finite loss stops the run, naming its step and parameter; last and best stay as they were") {
  const fs::path base = test::train_work_dir("nonfinite");
  fs::remove_all(base);
  const TrainConfig c = blowing_up(base / "run");
  const fs::path last = base / "run" / "last.safetensors", best = base / "run" / "best.safetensors";
  std::string what;
  try {
    run_training(c, quiet);
  } catch (const Error& e) {
    what = e.what();
  }
  MESSAGE(what);
  CHECK(what.find("epoch 2, step 2") != std::string::npos);
  CHECK(what.find("the first parameter with a non-finite gradient norm is ") != std::string::npos);
  CHECK(what.find("--detect-anomaly") != std::string::npos);
  CHECK(what.find("--skip-nonfinite") != std::string::npos);
  const Checkpoint ck = load_checkpoint(last.string());
  CHECK(ck.train_state["epoch"] == 0);  // epoch 1's checkpoint, untouched
  CHECK(ck.train_state["step"] == 3);
  for (const auto& [name, t] : ck.model) {
    const auto v = t.to_vector<float>();
    CHECK_MESSAGE(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }), name);
  }
  CHECK(load_checkpoint(best.string()).train_state["epoch"] == 0);
}

TEST_CASE("--skip-nonfinite N steps over N bad steps, then stops at the next; --detect-anomaly names the layer") {
  const fs::path base = test::train_work_dir("nonfinite_skip");
  fs::remove_all(base);
  TrainConfig c = blowing_up(base / "run");
  c.skip_nonfinite = 2;
  c.detect_anomaly = true;
  std::vector<std::string> skipped;
  std::string what;
  try {
    run_training(c, [&](const std::string& line) {
      if (line.rfind("skipping ", 0) == 0) skipped.push_back(line);
    });
  } catch (const Error& e) {
    what = e.what();
  }
  MESSAGE(what);
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].find("skipping epoch 2, step 2: ") == 0);
  CHECK(skipped[1].find("skipping epoch 2, step 3: ") == 0);
  CHECK(skipped[1].find("(2 of the 2 steps --skip-nonfinite allows)") != std::string::npos);
  CHECK(what.find("at epoch 3, step 1") != std::string::npos);
  CHECK(what.find("2 such steps were skipped before") != std::string::npos);
  // --detect-anomaly: the first module whose output went bad (the weights are huge after the
  // blow-up: some layer's output overflows), named as in the model's state dict.
  const size_t at = what.find("forward: the output of ");
  REQUIRE(at != std::string::npos);
  CHECK(what.find("features.", at) == at + 23);
  // Epoch 2 was completed (its bad steps skipped): its checkpoint is there, finite.
  const Checkpoint ck = load_checkpoint((base / "run" / "last.safetensors").string());
  CHECK(ck.train_state["epoch"] == 1);
  CHECK(ck.train_state["step"] == 4);  // 3 + the one good step of epoch 2
  CHECK(ck.train_state["nonfinite_skipped"] == 2);
}

TEST_CASE("without a test split, the metrics say they are the validation split's, in metrics.json and report.html") {
  const fs::path base = test::train_work_dir("no_test_split");
  fs::remove_all(base);
  for (const bool with_test : {false, true}) {
    CAPTURE(with_test);
    TrainConfig c = tiny_config((base / (with_test ? "with" : "without")).string());
    c.epochs = 1;
    if (!with_test) c.split_train = 0.75, c.split_val = 0.25, c.split_test = 0;
    std::vector<std::string> lines;
    const TrainResult r = run_training(c, [&](const std::string& l) { lines.push_back(l); });
    std::ifstream in(fs::path(c.out) / "metrics.json");
    const std::string on = nlohmann::json::parse(in).at("evaluated_on").get<std::string>();
    const std::string report = test::read_file(fs::path(c.out) / "report.html");
    if (with_test) {
      CHECK(on == "the test split");
    } else {
      CHECK(on.find("the validation split (there is no test split") == 0);
      CHECK(r.test.evaluated_on == on);
    }
    CHECK(report.find("Evaluated on " + on) != std::string::npos);
    bool table_says = false;
    for (const auto& l : lines) table_says |= l.rfind("evaluated on " + on, 0) == 0;
    CHECK(table_says);
  }
}
