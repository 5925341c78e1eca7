// The run directory's text files: epochs.csv (append, read back, restored from a checkpoint's
// history after a crash), the evaluation CSVs and JSON, CSV quoting; and the recipe presets.
#include "train/run_files.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "tests/train/train_test_util.h"
#include "train/config.h"
#include "train/csv_json.h"
#include "train/progress.h"
#include "train/setup.h"

using namespace hemo;
using namespace hemo::train;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("csv: quoting round trips through csv_split") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field(" padded") == "\" padded\"");
  CHECK(csv_number(std::numeric_limits<double>::quiet_NaN()).empty());
  CHECK(csv_number(0.1f) == "0.100000001");  // enough digits to round-trip a float
  const std::vector<std::string> fields = {"x", "a,b", "q\"uote", "", " s "};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_field(fields[i]);
  }
  CHECK(csv_split(line) == fields);
}

TEST_CASE("epochs.csv: appended, read back, restored from the checkpoint history") {
  const auto dir = test::train_work_dir("run_files_epochs");
  std::filesystem::remove(dir / "epochs.csv");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<EpochRecord> recs = {{1, 1.5, 0.25, 1.25, 0.375, 1e-3, 100.5, 2.0},
                                   {2, 0.75, 0.5, nan, nan, 1e-3, 101.5, 2.0},
                                   {3, 0.5, 0.75, 0.5, 0.75, 1e-4, 99.0, 2.5}};
  {
    RunFiles files(dir.string(), false);
    for (const auto& r : recs) files.log_epoch(r);
  }
  auto back = read_epoch_csv((dir / "epochs.csv").string());
  REQUIRE(back.size() == 3);
  CHECK(back[0].train_loss == 1.5);
  CHECK(back[2].lr == doctest::Approx(1e-4));
  CHECK(std::isnan(back[1].val_loss));
  CHECK(lines_of(test::read_file(dir / "epochs.csv"))[0] ==
        "epoch,train_loss,train_acc,val_loss,val_acc,lr,images_per_s,seconds");

  // A crash after epoch 3's line but before its checkpoint: the checkpoint's history has epochs
  // 1-2; resuming rewrites the log to match and appends from there.
  nlohmann::json history = nlohmann::json::array({to_json(recs[0]), to_json(recs[1])});
  CHECK(history[1]["val_loss"].is_null());
  {
    RunFiles files(dir.string(), true);
    files.restore_history(history);
    files.log_epoch({3, 0.25, 0.875, 0.25, 0.875, 1e-4, 98.0, 2.0});
  }
  back = read_epoch_csv((dir / "epochs.csv").string());
  REQUIRE(back.size() == 3);
  CHECK(back[2].train_loss == 0.25);
  CHECK(std::isnan(epoch_from_json(history[1]).val_acc));

  // A fresh (non-append) run replaces an old log.
  {
    RunFiles files(dir.string(), false);
    files.log_epoch(recs[0]);
  }
  CHECK(read_epoch_csv((dir / "epochs.csv").string()).size() == 1);
  std::ofstream(dir / "bad.csv") << "epoch,nope\n";
  CHECK_THROWS_WITH_AS(read_epoch_csv((dir / "bad.csv").string()), doctest::Contains("header"), Error);
}

TEST_CASE("evaluation files: metrics.json, metrics.csv, confusion.csv, predictions.csv") {
  const auto dir = test::train_work_dir("run_files_eval");
  const std::vector<std::string> classes = {"eosinophil", "ig", "neutrophil"};
  const std::vector<int64_t> truth = {0, 1, 2, 2}, pred = {0, 2, 2, 2};
  const std::vector<std::vector<float>> probs = {
      {0.8f, 0.1f, 0.1f}, {0.2f, 0.3f, 0.5f}, {0.1f, 0.1f, 0.8f}, {0.0f, 0.25f, 0.75f}};
  const Metrics m = compute_metrics(truth, pred, probs, classes);
  RunFiles files(dir.string(), false);
  files.write_evaluation(m, {"a/x.jpg", "b,comma.jpg", "c.jpg", "d.jpg"}, truth, pred, probs, classes);
  files.write_config({{"model", "pbcnet7"}});
  CHECK(!std::filesystem::exists(dir / "epochs.csv"));  // an evaluation leaves no epoch log
  CHECK(nlohmann::json::parse(test::read_file(dir / "config.json"))["model"] == "pbcnet7");

  const auto j = nlohmann::json::parse(test::read_file(dir / "metrics.json"));
  CHECK(j["accuracy"].get<double>() == 0.75);
  CHECK(j["per_class"][2]["precision"].get<double>() == doctest::Approx(2.0 / 3));

  const auto mc = lines_of(test::read_file(dir / "metrics.csv"));
  CHECK(mc[0] == "class,precision,recall,specificity,f1,support,auc,tp,fp,fn,tn");
  CHECK(mc[2] == "ig,0,0,1,0,1,1,0,0,1,3");  // ig: never predicted, yet ranked first (0.3 > 0.1 0.1 0.25)
  CHECK(mc[6] == "accuracy,,,,0.75,4,,,,,");

  const auto cm = lines_of(test::read_file(dir / "confusion.csv"));
  CHECK(cm[0] == "true\\predicted,eosinophil,ig,neutrophil");
  CHECK(cm[2] == "ig,0,0,1");

  const auto pc = lines_of(test::read_file(dir / "predictions.csv"));
  REQUIRE(pc.size() == 5);
  CHECK(pc[0] == "path,true,predicted,correct,p_eosinophil,p_ig,p_neutrophil");
  CHECK(pc[2] == "\"b,comma.jpg\",ig,neutrophil,0,0.200000003,0.300000012,0.5");
  CHECK(csv_split(pc[2])[0] == "b,comma.jpg");
}

TEST_CASE("progress: plain lines every 10% off a terminal, a redrawn bar on one") {
  std::ostringstream plain;
  {
    Progress p("epoch 1/3", 100, false, &plain);
    for (int i = 1; i <= 100; ++i) p.update(i, "loss 0.5");
    p.finish();
  }
  const auto lines = lines_of(plain.str());
  REQUIRE(lines.size() == 11);  // ten deciles and the summary
  CHECK(lines[0].find("epoch 1/3  10%  10/100") == 0);
  CHECK(lines[0].find("img/s") != std::string::npos);
  CHECK(lines[0].find("ETA") != std::string::npos);
  CHECK(lines[10].find("epoch 1/3 done: 100 in") == 0);
  std::ostringstream tty;
  {
    Progress p("test", 50, true, &tty);
    p.update(25);
  }
  CHECK(tty.str().find("[###############...............]") != std::string::npos);
  CHECK(tty.str().find('\r') != std::string::npos);
  CHECK(Progress::format_duration(3725) == "1:02:05");
  CHECK(Progress::format_duration(65) == "1:05");
  CHECK(Progress::format_duration(-1) == "--:--");
}

TEST_CASE("recipes: the papers' setups, JSON round trip, validation") {
  const TrainConfig g = recipe("gavas2021");
  CHECK(g.optimizer == OptimizerKind::sgd);
  CHECK(g.momentum == 0.9);
  CHECK(g.schedule == ScheduleKind::step);
  CHECK(g.step_size == 7);
  CHECK(g.gamma == doctest::Approx(0.1));
  CHECK(g.epochs == 25);
  CHECK(g.batch_size == 32);
  // Paper 002 augments with flips and a 60-degree rotation of the whole image: no random crop,
  // no colour jitter (its text, seeds/002: "resized and centered-cropped").
  const data::TransformSpec gt = train_transform(g, 224);
  CHECK(gt.scale_min == 1.0f);
  CHECK(gt.ratio_min == 1.0f);
  CHECK(gt.rotation == 60.0f);
  CHECK(gt.vflip == 0.5f);
  CHECK(gt.hflip == 0.5f);
  CHECK(gt.jitter.brightness == 0.0f);
  CHECK_NOTHROW(gt.validate());
  TrainConfig plain;
  plain.augment = true;
  const data::TransformSpec pt = train_transform(plain, 128);  // --augment alone: the preset
  CHECK(pt.scale_min == 0.5f);
  CHECK(pt.jitter.brightness == 0.2f);
  CHECK(pt.vflip == 0.0f);
  CHECK(!pt.quarter_turns);
  TrainConfig turns = plain;
  turns.quarter_turns = true;
  CHECK(train_transform(turns, 128).quarter_turns);
  CHECK(train_transform(TrainConfig{}, 128).augment == false);
  const TrainConfig k = recipe("katar2022");
  CHECK(k.lr == doctest::Approx(1e-4));
  CHECK(k.patience == 5);
  CHECK(k.monitor == Monitor::val_acc);
  CHECK(k.batch_size == 64);
  const TrainConfig a = recipe("asghar2023");
  CHECK(a.model == "pbcnet7");
  CHECK(a.input_size == 100);
  CHECK(a.optimizer == OptimizerKind::adam);
  CHECK(a.lr == doctest::Approx(1e-3));
  CHECK(a.monitor == Monitor::val_loss);
  CHECK(recipe("pramodha2023").balanced_sampler);
  CHECK(recipe("pramodha2023").split_test == doctest::Approx(0.2));  // 70/20/10 train/test/val
  for (const auto& n : recipe_names()) CHECK_NOTHROW(recipe(n).validate());
  CHECK_THROWS_WITH_AS(recipe("smith2020"), doctest::Contains("known: gavas2021"), Error);

  TrainConfig c = a;
  c.data = "/data/pbc";
  c.seed = 42;
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  CHECK(back.to_json() == c.to_json());
  CHECK(c.to_json().at("optimizer") == "adam");  // the names, as when these fields were strings
  CHECK(c.to_json().at("monitor") == "val_loss");
  nlohmann::json j = c.to_json();
  j["optimizer"] = "rmsprop";
  CHECK_THROWS_WITH_AS(TrainConfig::from_json(j), doctest::Contains("--optimizer 'rmsprop' is not one of sgd, adam, adamw"),
                       Error);
  TrainConfig bad;
  bad.split_train = 0.5;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("sum to 1"), Error);
  j = c.to_json();
  j["augment"] = 3;  // a field of the wrong type (found by fuzz_checkpoint): a message, not a JSON exception
  CHECK_THROWS_WITH_AS(TrainConfig::from_json(j, "run/config.json"),
                       doctest::Contains("run/config.json: the training configuration is malformed"), Error);
}

TEST_CASE("config: settings that would train on nonsense are refused, each naming its flag") {
  const std::pair<void (*)(TrainConfig&), const char*> cases[] = {
      {[](TrainConfig& c) { c.step_size = 0; }, "--step-size must be >= 1"},
      {[](TrainConfig& c) { c.gamma = -1; }, "--gamma must be a positive number"},
      {[](TrainConfig& c) { c.momentum = -0.5; }, "--momentum must be in [0, 1)"},
      {[](TrainConfig& c) { c.weight_decay = -1e-4; }, "--weight-decay must be >= 0"},
      {[](TrainConfig& c) { c.patience = -2; }, "--patience must be >= 0"},
      {[](TrainConfig& c) { c.warmup_epochs = -1; }, "--warmup-epochs must be in [0, --epochs)"},
      {[](TrainConfig& c) { c.clip_grad_norm = -1; }, "--clip-grad-norm must be >= 0"},
      {[](TrainConfig& c) { c.dropout = 1; }, "--dropout must be in [0, 1)"},
      {[](TrainConfig& c) { c.drop_path = 1; }, "--drop-path must be in [0, 1)"},
      {[](TrainConfig& c) { c.crop_scale = 0; }, "--crop-scale must be in (0, 1]"},
      {[](TrainConfig& c) { c.crop_scale = 1.5; }, "--crop-scale must be in (0, 1]"},
      {[](TrainConfig& c) { c.input_size = 1; }, "--input-size must be 0 (the model's default) or in [8, 4096]"},
      {[](TrainConfig& c) { c.input_size = -224; }, "--input-size must be 0"},
      {[](TrainConfig& c) { c.max_minutes = -5; }, "--max-minutes must be >= 0"},
      {[](TrainConfig& c) { c.rotation = 400; }, "--rotation must be in [0, 180]"},
      // what a replayed CUDA graph step cannot do (train/captured_step.h)
      {[](TrainConfig& c) { c.cuda_graphs = true, c.detect_anomaly = true; },
       "--cuda-graphs cannot replay a step with --detect-anomaly"},
      {[](TrainConfig& c) { c.cuda_graphs = true, c.skip_nonfinite = 2; },
       "--cuda-graphs cannot replay a step with --skip-nonfinite"},
      {[](TrainConfig& c) { c.cuda_graphs = true, c.distributed = true; },
       "--cuda-graphs cannot replay a step with --distributed"},
      {[](TrainConfig& c) { c.cuda_graphs = true, c.class_weights = true; },
       "--cuda-graphs cannot replay a step with --class-weights"},
      {[](TrainConfig& c) { c.cuda_graphs = true, c.drop_path = 0.1; },
       "--cuda-graphs cannot replay a step with --drop-path"},
  };
  for (const auto& [set, message] : cases) {
    TrainConfig c;
    CHECK_NOTHROW(c.validate());
    set(c);
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains(message), Error);
  }
}
