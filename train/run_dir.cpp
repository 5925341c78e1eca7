#include "train/run_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "train/checkpoint.h"

namespace hemo::train {

namespace fs = std::filesystem;

namespace {

bool is_run_file(const std::string& name) {
  static const std::set<std::string> names = {"config.json", "epochs.csv",  "last.safetensors", "best.safetensors",
                                              "metrics.json", "metrics.csv", "confusion.csv",    "predictions.csv",
                                              "report.html"};
  return names.count(name) != 0 || name.rfind("events.out.tfevents.", 0) == 0;
}

// Settings a resumed run may change: none of them changes what is trained.
bool may_change_on_resume(const std::string& key) {
  static const std::set<std::string> keys = {"epochs",   "patience", "max_minutes", "threads",   "device",
                                             "data",     "manifest", "out",         "resume",    "overwrite",
                                             "distributed", "world_size", "batch_size",  // these 3: below
                                             "detect_anomaly", "skip_nonfinite", "memory_efficient",
                                             "fusion", "multi_tensor", "sync_every_step", "cuda_graphs"};
  return keys.count(key) != 0;
}

}  // namespace

std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return found;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (is_run_file(entry.path().filename().string())) found.push_back(entry.path().filename().string());
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::string> prepare_new_run_dir(const TrainConfig& config) {
  std::vector<std::string> found = run_files_in(config.out);
  if (found.empty()) return found;
  if (!config.overwrite) {
    std::string list;
    for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
    throw Error(cat("--out ", config.out, " already holds a training run (", list,
                    "); training into it would overwrite its best checkpoint and metrics. Continue that run with "
                    "--resume, start afresh there with --overwrite (deletes those files), or pick another --out"));
  }
  if (config.manifest.empty() && fs::exists(fs::path(config.out) / "split.csv")) found.push_back("split.csv");
  for (const std::string& f : found) {
    std::error_code ec;
    fs::remove(fs::path(config.out) / f, ec);
    HEMO_CHECK(!ec, "--overwrite: cannot delete ", (fs::path(config.out) / f).string(), ": ", ec.message());
  }
  return found;
}

TrainConfig saved_run_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  HEMO_CHECK(fs::is_directory(dir), "--resume: the run directory ", dir, " does not exist");
  std::ifstream in(path);
  if (!in) {  // a run of a version that wrote no config.json: its checkpoint holds the configuration
    const fs::path last = fs::path(dir) / "last.safetensors";
    HEMO_CHECK(fs::exists(last), "--resume: ", dir, " holds no training run to resume (neither config.json nor ",
               "last.safetensors); without --resume a new run starts there");
    const nlohmann::json state = load_checkpoint(last.string()).train_state;
    HEMO_CHECK(state.is_object() && state.contains("config") && state["config"].is_object(), last.string(),
               " holds no training configuration to resume with");
    return TrainConfig::from_json(state["config"], last.string());
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(path.string(), ": not a valid configuration: ", e.what()));
  }
  return TrainConfig::from_json(j, path.string());
}

std::string flag_of(const std::string& key) {
  if (key.rfind("split_", 0) == 0) return "--split";
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

void check_resume_config(const TrainConfig& saved, const TrainConfig& requested) {
  const nlohmann::json a = saved.to_json(), b = requested.to_json();
  std::string differences;
  for (const auto& [key, value] : b.items()) {
    if (may_change_on_resume(key) || !a.contains(key) || a[key] == value) continue;
    differences += cat(differences.empty() ? "" : "; ", flag_of(key), " ", value.dump(), " (the run has ", a[key].dump(), ")");
  }
  // The number of ranks may change (--distributed under another mpirun -np) when the global batch
  // stays: batch size x ranks, which is what the optimizer sees.
  const int64_t global_saved = int64_t{saved.batch_size} * std::max(saved.world_size, 1);
  const int64_t global_now = int64_t{requested.batch_size} * std::max(requested.world_size, 1);
  if (global_saved != global_now)
    differences += cat(differences.empty() ? "" : "; ", "--batch-size ", requested.batch_size, " on ",
                       std::max(requested.world_size, 1), " rank(s), a global batch of ", global_now, " (the run has ",
                       saved.batch_size, " on ", std::max(saved.world_size, 1), ", ", global_saved, ")");
  HEMO_CHECK(differences.empty(), "--resume continues a run with its own configuration (", requested.out,
             "/config.json), and these settings differ from it: ", differences,
             ". On resume only --epochs, --patience, --max-minutes, --threads, --device, --data, --manifest, "
             "--detect-anomaly and --skip-nonfinite may change (and --batch-size with the number of ranks, keeping "
             "the global batch); "
             "drop the others to keep the run's values, or start a new run (another --out) to change them");
}

}  // namespace hemo::train
