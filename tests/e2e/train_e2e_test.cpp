// End to end: pbcnet7 trains on real PBC images (../shared/data/pbc-mini; synthetic smears when
// ../shared is absent) and learns: the training loss falls and accuracy ends far above chance
// (1/8). Then the `hemo` binary evaluates the run's checkpoints (alone and as an ensemble),
// predicts, runs a small `hemo demo`, and gives clear errors for a missing data folder, an
// unknown model and a checkpoint that does not match.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/synth.h"
#include "tests/train/train_test_util.h"
#include "train/epoch_log.h"
#include "train/trainer.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

using namespace hemo;
using namespace hemo::train;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {

struct Dataset {
  fs::path dir;
  bool real = false;
};

Dataset e2e_data() {
  const fs::path mini = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
  // HEMO_E2E_SYNTH=1 takes the no-../shared path on a machine that has it.
  if (fs::is_directory(mini) && !std::getenv("HEMO_E2E_SYNTH")) return {mini, true};
  const fs::path dir = test::train_work_dir("e2e") / "synth";
  if (!fs::exists(dir / "platelet")) {
    fs::remove_all(dir);
    data::synth::generate(dir, 25, 72, 3, "jpg", 2);
  }
  return {dir, false};
}

std::string hemo_cmd(const std::string& args) { return shell_quote(HEMO_BIN) + " " + args; }

// Trains once per test binary run; the CLI test reuses the run directory.
const TrainResult& trained() {
  static const TrainResult result = [] {
    const Dataset d = e2e_data();
    MESSAGE("e2e data: ", d.dir.string(),
            std::string(d.real ? " (real PBC images)" : " (synthetic: ../shared is absent)"));
    TrainConfig c;
    c.model = "pbcnet7";
    c.data = d.dir.string();
    c.out = (test::train_work_dir("e2e") / "run").string();
    c.input_size = 72;
    c.epochs = 14;
    c.batch_size = 8;
    c.split_train = 0.6, c.split_val = 0.2, c.split_test = 0.2;  // 40 test images, not 16
    c.optimizer = train::OptimizerKind::adam;
    c.lr = 1e-3;
    c.dropout = 0;  // a few epochs on 140 images: dropout only slows the start down
    c.monitor = train::Monitor::val_acc;
    c.threads = 2;
    c.seed = 1;
    fs::remove_all(c.out);
    return run_training(c, [](const std::string& line) { MESSAGE(line); });
  }();
  return result;
}

}  // namespace

TEST_CASE("e2e: pbcnet7 learns blood-cell classes: the loss falls, accuracy ends far above chance") {
  const TrainResult& r = trained();
  REQUIRE(r.train_losses.size() == 14);
  const auto epochs = read_epoch_csv(r.run_dir + "/epochs.csv");
  REQUIRE(epochs.size() == 14);
  const double first = r.train_losses.front(), last = r.train_losses.back();
  double best_val = 0;
  for (const auto& e : epochs) best_val = std::max(best_val, e.val_acc);
  MESSAGE("train loss ", first, " -> ", last, "; train accuracy ", epochs.front().train_acc, " -> ",
          epochs.back().train_acc, "; best val accuracy ", best_val, "; test accuracy ", r.test.accuracy, " on ",
          r.test.total, " images (chance 0.125)");
  CHECK(last < 0.75 * first);
  CHECK(epochs.back().train_acc >= 0.375);  // 3x chance
  CHECK(best_val >= 0.375);
  CHECK(r.test.accuracy >= 0.25);  // a small split: a looser bar, still 2x chance
  for (const char* f : {"config.json", "split.csv", "best.safetensors", "last.safetensors", "metrics.json",
                        "metrics.csv", "confusion.csv", "predictions.csv", "report.html"})
    CHECK_MESSAGE(fs::exists(fs::path(r.run_dir) / f), f);
  bool events = false;
  for (const auto& e : fs::directory_iterator(r.run_dir))
    events |= e.path().filename().string().find("tfevents") != std::string::npos;
  CHECK(events);
}

TEST_CASE("e2e: hemo eval (single and ensemble), hemo predict, hemo demo and their errors") {
  const TrainResult& r = trained();
  const std::string run = r.run_dir, data = e2e_data().dir.string();
  fs::remove_all(test::train_work_dir("e2e_cli"));
  const fs::path work = test::train_work_dir("e2e_cli");
  std::string out, err;

  // eval of the best checkpoint on the run's test split reproduces the run's own test metrics.
  int rc = test::run_command(
      hemo_cmd("eval --checkpoint " + shell_quote(run + "/best.safetensors") + " --data " + shell_quote(data) +
               " --manifest " + shell_quote(run + "/split.csv") + " --out " + shell_quote((work / "eval").string())),
      &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  CHECK(out.find("Cohen's kappa") != std::string::npos);
  const auto m = nlohmann::json::parse(test::read_file(work / "eval" / "metrics.json"));
  CHECK(m["accuracy"].get<double>() == r.test.accuracy);
  CHECK(m["total"].get<int64_t>() == r.test.total);

  rc = test::run_command(
      hemo_cmd("eval --ensemble " + shell_quote(run + "/best.safetensors," + run + "/last.safetensors") +
               " --rule vote --tta flips --data " + shell_quote(data) + " --manifest " + shell_quote(run + "/split.csv") +
               " --out " + shell_quote((work / "ens").string())),
      &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  const auto lines = test::read_file(work / "ens" / "predictions.csv");
  CHECK(std::count(lines.begin(), lines.end(), '\n') == r.test.total + 1);
  CHECK(fs::exists(work / "ens" / "report.html"));
  CHECK(test::read_file(work / "ens" / "report.html").find("test-time augmentation: flips") != std::string::npos);
  rc = test::run_command(hemo_cmd("eval --checkpoint " + shell_quote(run + "/best.safetensors") + " --tta rot --data " +
                                  shell_quote(data)),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("--tta") != std::string::npos, err);

  // predict: top-3 JSON for a folder of one class.
  const fs::path one_class = fs::path(data) / "lymphocyte";
  rc = test::run_command(hemo_cmd("predict --checkpoint " + shell_quote(run + "/best.safetensors") +
                                  " --top 3 --json " + shell_quote(one_class.string())),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  const auto p = nlohmann::json::parse(out);
  REQUIRE(p.size() >= 20);
  CHECK(p[0]["top"].size() == 3);
  CHECK(p[0]["top"][0]["probability"].get<double>() >= p[0]["top"][1]["probability"].get<double>());
  rc = test::run_command(hemo_cmd("predict --checkpoint " + shell_quote(run + "/best.safetensors") + " " +
                                  shell_quote(p[0]["path"].get<std::string>())),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  CHECK(out.find(p[0]["top"][0]["class"].get<std::string>()) != std::string::npos);
  // "-" reads the paths from standard input, as hemo-infer does: the same answers as the folder.
  rc = test::run_command("printf '%s\\n%s\\n' " + shell_quote(p[0]["path"].get<std::string>()) + " " +
                             shell_quote(p[1]["path"].get<std::string>()) + " | " +
                             hemo_cmd("predict --json --checkpoint " + shell_quote(run + "/best.safetensors") + " -"),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  const auto from_stdin = nlohmann::json::parse(out);
  REQUIRE(from_stdin.size() == 2);
  CHECK(from_stdin[0]["top"][0]["class"] == p[0]["top"][0]["class"]);  // (another batch: rounding may differ)
  CHECK(std::abs(from_stdin[0]["top"][0]["probability"].get<double>() - p[0]["top"][0]["probability"].get<double>()) <
        1e-5);
  CHECK(from_stdin[1]["path"] == p[1]["path"]);

  // Clear errors.
  rc = test::run_command(hemo_cmd("train --data " + shell_quote((work / "absent").string()) + " --out " +
                                  shell_quote((work / "x").string())),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("does not exist") != std::string::npos, err);
  rc = test::run_command(
      hemo_cmd("train --model resnet9 --data " + shell_quote(data) + " --out " + shell_quote((work / "y").string())),
      &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("unknown model 'resnet9'") != std::string::npos, err);
  rc = test::run_command(
      hemo_cmd("train --resume --model mobilenet_v3_small --data " + shell_quote(data) + " --out " + shell_quote(run)),
      &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("--model \"mobilenet_v3_small\" (the run has \"pbcnet7\")") != std::string::npos, err);
  // A checkpoint of 8 classes against a folder of 2.
  const fs::path two = work / "two_classes";
  fs::remove_all(two);
  for (const char* c : {"basophil", "eosinophil"}) {
    fs::create_directories(two / c);
    for (const auto& e : fs::directory_iterator(fs::path(data) / c))
      fs::copy_file(e.path(), two / c / e.path().filename());
  }
  rc = test::run_command(hemo_cmd("eval --checkpoint " + shell_quote(run + "/best.safetensors") + " --data " +
                                  shell_quote(two.string()) + " --out " + shell_quote((work / "z").string())),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("classes different") != std::string::npos, err);
  // --split without a split file would evaluate every image (training ones too) under its name.
  rc = test::run_command(hemo_cmd("eval --checkpoint " + shell_quote(run + "/best.safetensors") + " --data " +
                                  shell_quote(data) + " --split val --out " + shell_quote((work / "z").string())),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("--split val needs the split of a run: --manifest RUN/split.csv") != std::string::npos, err);
  // An ensemble whose second member names its classes differently fails before the first is
  // evaluated (the same weights, two class names swapped in the metadata).
  {
    weights::TensorFile f = weights::load_tensors(run + "/best.safetensors");
    auto meta = weights::ModelMeta::from_metadata(f.metadata, "best");
    std::swap(meta.class_names[0], meta.class_names[1]);
    const std::string swapped = (work / "swapped.safetensors").string();
    weights::save_tensors(swapped, f.tensors, meta.to_metadata());
    rc = test::run_command(hemo_cmd("eval --ensemble " + shell_quote(run + "/best.safetensors," + swapped) + " --data " +
                                    shell_quote(data) + " --out " + shell_quote((work / "z").string())),
                           &out, &err);
    CHECK(rc != 0);
    CHECK_MESSAGE(err.find("swapped.safetensors was trained on classes different") != std::string::npos, err);
    CHECK_MESSAGE(err.find("accuracy") == std::string::npos, err);  // nothing was evaluated first
  }
  rc = test::run_command(
      hemo_cmd("predict --checkpoint " + shell_quote(run + "/split.csv") + " " + shell_quote(one_class.string())), &out,
      &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("split.csv") != std::string::npos, err);

  // A recipe preset with flags overriding it: the resolved configuration says which won.
  rc = test::run_command(hemo_cmd("train --recipe asghar2023 --epochs 1 --input-size 65 --lr 0.0005 --data " +
                                  shell_quote(data) + " --out " + shell_quote((work / "recipe").string())),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  const auto cfg = nlohmann::json::parse(test::read_file(work / "recipe" / "config.json"));
  CHECK(cfg["recipe"] == "asghar2023");
  CHECK(cfg["epochs"] == 1);               // flag
  CHECK(cfg["input_size"] == 65);          // flag
  CHECK(cfg["lr"].get<double>() == 5e-4);  // flag
  CHECK(cfg["monitor"] == "val_loss");     // preset
  CHECK(cfg["optimizer"] == "adam");       // preset
  CHECK(cfg["model"] == "pbcnet7");        // preset

  // A small demo run end to end (the full default runs in tools/run-demo.sh).
  rc = test::run_command(
      hemo_cmd("demo --per-class 20 --size 65 --epochs 1 --out " + shell_quote((work / "demo").string())), &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  CHECK(out.find("report: ") != std::string::npos);
  CHECK(fs::exists(work / "demo" / "run" / "report.html"));
}
