// The command-line tools on the CUDA path, from the outside: `hemo train --device cuda` on pbc-mini
// for one short epoch, then `eval`, `predict`, `gradcam` and `hemo-infer` with --device cuda,
// each compared with the same command on the CPU from the same checkpoint (probabilities to 1e-4,
// the same top-1 class). In the emulation build this runs every hand-written kernel the tools
// reach and cuDNN/cuBLAS by the CPU reference; on a GPU machine it runs them for real.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/synth.h"
#include "tests/cuda/cuda_test.h"
#include "tests/train/train_test_util.h"

namespace fs = std::filesystem;
using hemo::test::shell_quote;

namespace {

fs::path data_dir() {
  const fs::path mini = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
  if (fs::is_directory(mini)) return mini;
  const fs::path dir = hemo::test::train_work_dir("cuda-cli") / "synth";
  if (!fs::exists(dir / "platelet")) hemo::data::synth::generate(dir, 12, 60, 3, "jpg", 2);
  return dir;
}

std::string run_ok(const std::string& bin, const std::string& args) {
  std::string out, err;
  const int rc = hemo::test::run_command(shell_quote(bin) + " " + args, &out, &err);
  INFO("command: ", bin, " ", args, "\nstderr:\n", err);
  REQUIRE(rc == 0);
  return out;
}

// {path: {class: probability}} from predict's or hemo-infer's --json output.
std::map<std::string, std::map<std::string, double>> probabilities(const std::string& json_text) {
  std::map<std::string, std::map<std::string, double>> out;
  const nlohmann::json j = nlohmann::json::parse(json_text);
  const nlohmann::json& rows = j.is_array() ? j : j.at("predictions");
  for (const auto& row : rows)
    for (const auto& t : row.at("top")) out[row.at("path")][t.at("class")] = t.at("probability").get<double>();
  return out;
}

void check_same_predictions(const std::string& cpu_json, const std::string& gpu_json, const std::string& what) {
  const auto cpu = probabilities(cpu_json), gpu = probabilities(gpu_json);
  REQUIRE(cpu.size() == gpu.size());
  REQUIRE(!cpu.empty());
  double worst = 0;
  size_t top1_differs = 0;
  for (const auto& [path, pc] : cpu) {
    REQUIRE(gpu.count(path));
    const auto& pg = gpu.at(path);
    REQUIRE(pc.size() == pg.size());
    for (const auto& [cls, p] : pc) worst = std::max(worst, std::fabs(p - pg.at(cls)));
    const auto best = [](const std::map<std::string, double>& m) {
      return std::max_element(m.begin(), m.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
    };
    top1_differs += best(pc) != best(pg);
  }
  MESSAGE(what, ": ", cpu.size(), " images, worst probability difference ", worst, ", top-1 differs on ",
          top1_differs);
  CHECK(worst <= 1e-4);
  CHECK(top1_differs == 0);
}

}  // namespace

TEST_CASE("cuda cli: train on the device, then eval, predict, gradcam and hemo-infer agree with the CPU") {
  HEMO_REQUIRE_GPU();
  const fs::path data = data_dir(), work = hemo::test::train_work_dir("cuda-cli");
  const fs::path run = work / "run";
  fs::remove_all(run);
  const std::string out = run_ok(HEMO_BIN, hemo::cat("train --device cuda --model pbcnet7 --input-size 48 --epochs 1 "
                                                     "--batch-size 16 --threads 2 --seed 1 --data ",
                                                     shell_quote(data.string()), " --out ", shell_quote(run.string())));
  MESSAGE("hemo train --device cuda:\n", out);
  const std::string ckpt = (run / "best.safetensors").string();
  REQUIRE(fs::exists(ckpt));

  fs::remove_all(work / "eval");
  run_ok(HEMO_BIN, hemo::cat("eval --device cuda --checkpoint ", shell_quote(ckpt), " --data ",
                             shell_quote(data.string()), " --manifest ", shell_quote((run / "split.csv").string()),
                             " --out ", shell_quote((work / "eval").string())));
  CHECK(fs::exists(work / "eval" / "metrics.json"));

  // Two images of every class.
  std::vector<std::string> images;
  for (const auto& cls : fs::directory_iterator(data)) {
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(cls.path()))
      if (f.path().extension() == ".jpg" && f.path().filename().string()[0] != '.') files.push_back(f.path().string());
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < std::min<size_t>(2, files.size()); ++i) images.push_back(files[i]);
  }
  std::string paths;
  for (const auto& p : images) paths = hemo::cat(paths, " ", shell_quote(p));

  // Strict float32 on the GPU: the commands' default, TF32, rounds the products to 10-bit mantissas.
  const std::string common = hemo::cat(" --checkpoint ", shell_quote(ckpt), " --top 8 --json", paths);
  check_same_predictions(run_ok(HEMO_BIN, hemo::cat("predict --device cpu", common)),
                         run_ok(HEMO_BIN, hemo::cat("predict --device cuda --precision fp32", common)), "hemo predict");
  check_same_predictions(
      run_ok(HEMO_INFER_BIN, hemo::cat(shell_quote(ckpt), " --device cpu --top 8 --json", paths)),
      run_ok(HEMO_INFER_BIN, hemo::cat(shell_quote(ckpt), " --device cuda --precision fp32 --top 8 --json", paths)),
      "hemo-infer");

  for (const char* dev : {"cpu", "cuda"}) {
    const fs::path cam = work / hemo::cat("cam-", dev);
    fs::remove_all(cam);
    run_ok(HEMO_BIN, hemo::cat("gradcam --device ", dev, " --checkpoint ", shell_quote(ckpt), " --out ",
                               shell_quote(cam.string()), paths));
    CHECK(fs::exists(cam / "index.html"));
  }
  const std::string cpu_csv = hemo::test::read_file(work / "cam-cpu" / "predictions.csv");
  const std::string gpu_csv = hemo::test::read_file(work / "cam-cuda" / "predictions.csv");
  CHECK(!cpu_csv.empty());
  CHECK(cpu_csv.size() == gpu_csv.size());
}
