// `hemo demo`: the README's main job, end to end with nothing to download. It draws the embedded
// synthetic blood-smear dataset (data/synth.h: PBC's 8 classes) into OUT/synth, trains pbcnet7 on
// it (on the GPU when there is one, else the CPU), evaluates the best epoch on the held-out test
// split and leaves a run directory with report.html in OUT/run. The defaults (3,200 images of
// 72x72, 10 epochs) took 118 s on a 2-core CPU, data generation included, for 98.5% test
// accuracy; the training time limit keeps a slower machine under 5 minutes.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/output_file.h"
#include "core/storage.h"
#include "data/synth.h"
#include "tools/command.h"
#include "train/trainer.h"

namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string out = "runs/demo";
  hemo::DeviceChoice device = hemo::DeviceChoice::auto_;
  int per_class = 400, size = 72, epochs = 10, threads = 2;
  double minutes = 3.75;  // training time limit: with drawing and testing, under 5 minutes on 2 cores
  uint64_t seed = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Draws the dataset unless OUT/synth already holds the same one (its stamp says so), so a second
// `hemo demo` starts training at once.
fs::path prepare_data(const DemoOptions& o) {
  const fs::path dir = fs::path(o.out) / "synth", stamp = fs::path(o.out) / "synth.json";
  const nlohmann::json want = {{"per_class", o.per_class}, {"size", o.size}, {"seed", o.seed}, {"format", "jpg"}};
  std::error_code ec;
  if (fs::is_directory(dir) && fs::exists(stamp)) {
    std::ifstream in(stamp);
    nlohmann::json have = nlohmann::json::parse(in, nullptr, false);
    if (have == want) {
      std::cout << "data: reusing " << dir.string() << "\n";
      return dir;
    }
  }
  fs::remove(stamp, ec);
  fs::remove_all(dir, ec);
  const auto t0 = std::chrono::steady_clock::now();
  // JPEG (quality 95) decodes several times faster than PNG, and each image is decoded every epoch.
  const int64_t n = hemo::data::synth::generate(dir, o.per_class, o.size, o.seed, "jpg", o.threads);
  hemo::write_file_atomically(stamp.string(), want.dump() + "\n");
  std::cout << "data: drew " << n << " synthetic " << o.size << "x" << o.size << " smear images (" << o.per_class
            << " per class, 8 classes) in " << seconds_since(t0) << " s -> " << dir.string() << "\n";
  return dir;
}

void run_demo(const DemoOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool gpu = hemo::resolve(o.device).is_cuda();  // before drawing: a bad --device fails at once
  std::cout << "hemo demo: pbcnet7 on the synthetic blood-smear set, on the " << (gpu ? "GPU" : "CPU")
            << (HEMO_WITH_CUDA ? "" : " (hemo was built without CUDA)") << "\n";
  const fs::path data = prepare_data(o);

  hemo::train::TrainConfig c;
  c.model = "pbcnet7";
  c.data = data.string();
  c.out = (fs::path(o.out) / "run").string();
  c.input_size = o.size;
  c.device = gpu ? hemo::DeviceChoice::cuda : hemo::DeviceChoice::cpu;
  c.split_train = 0.7, c.split_val = 0.15, c.split_test = 0.15;
  c.optimizer = hemo::train::OptimizerKind::adam;
  c.lr = 1e-3;
  c.batch_size = 16;
  c.epochs = o.epochs;
  c.max_minutes = o.minutes;
  // pbcnet7's dropout of 0.25 after every block holds a short run on a plateau for epochs; the
  // demo trains a few minutes, so it trains without (hemo train --dropout sets it).
  c.dropout = 0;
  c.monitor = hemo::train::Monitor::val_acc;
  c.restore_best = true;
  c.threads = o.threads;
  c.seed = o.seed;
  // A fresh run each time: the split manifest and the epoch log belong to this dataset.
  std::error_code ec;
  fs::remove_all(c.out, ec);
  const hemo::train::TrainResult r =
      hemo::train::run_training(c, [](const std::string& line) { std::cout << line << "\n"
                                                                           << std::flush; });
  std::cout << "\nhemo demo: test accuracy " << r.test.accuracy * 100 << "% on " << r.test.total
            << " held-out images (best epoch " << r.best_epoch + 1 << " of " << r.epochs_run << "), "
            << seconds_since(t0) << " s in all\n"
            << "report: " << (fs::absolute(c.out) / "report.html").string() << "\n";
}

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run the main job: draw the synthetic smear set, train pbcnet7, evaluate, write report.html");
  cmd->add_option("--out", o->out, "Folder for the data (OUT/synth) and the run (OUT/run)")->capture_default_str();
  hemo::cli::add_choice_option(cmd, "--device", o->device, "auto (GPU when there is one), cpu or cuda");
  cmd->add_option("--per-class", o->per_class, "Synthetic images per class")
      ->check(CLI::Range(20, 100000))
      ->capture_default_str();
  cmd->add_option("--size", o->size, "Image side in pixels (pbcnet7's input; its seven pools need 65 or more)")
      ->check(CLI::Range(65, 512))
      ->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Training epochs")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--max-minutes", o->minutes, "Training time limit: no epoch starts that would end past it (0: none)")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "Data threads")->check(CLI::Range(0, 256))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the data, the split and the training")->capture_default_str();
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace
HEMO_COMMAND("", 0, add_demo_command);
