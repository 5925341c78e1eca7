// A checkpoint written by an older hemo (tests/train/data/README.md says how) still loads, and a
// run resumed from it continues as that hemo's uninterrupted run did.
#include <doctest/doctest.h>

#include <filesystem>

#include "models/registry.h"
#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/epoch_log.h"
#include "train/train_state.h"
#include "train/trainer.h"
#include "weights/tensor_io.h"

using namespace hemo;
using namespace hemo::train;
namespace fs = std::filesystem;

namespace {

const fs::path kOld = fs::path(HEMO_SOURCE_DIR) / "tests/train/data/old_pbcnet7_frozen_epoch1.safetensors";

// The configuration the old run was made with (README.md), for 2 epochs.
TrainConfig old_config(const std::string& out) {
  TrainConfig c = test::tiny_config(out);
  c.optimizer = OptimizerKind::sgd;
  c.momentum = 0;
  c.lr = 0.01;
  c.freeze_backbone = true;
  c.epochs = 2;
  c.precision = Precision::fp32;  // what the file's configuration reads as (written before --precision)
  return c;
}

// The old file with its frozen backbone put back: the initialization the trainer draws from the
// seed, which --freeze-backbone never changed.
void restore_backbone(const TrainConfig& c, const fs::path& to) {
  weights::TensorFile file = weights::load_tensors(kOld.string());
  models::ModelOptions opt;
  opt.input_size = c.input_size;
  opt.dropout = c.dropout;
  Generator init_gen(c.seed, 1);
  nn::ModulePtr fresh = models::create_model(c.model, 8, opt, init_gen);
  weights::NamedTensors all;
  for (auto& [name, t] : fresh->state_dict())
    if (name.rfind("features.", 0) == 0) all.emplace_back(name, t);
  for (auto& entry : file.tensors) all.push_back(entry);
  weights::save_tensors(to.string(), all, file.metadata);
}

}  // namespace

TEST_CASE("old checkpoint: its training state loads as written") {
  const Checkpoint ckpt = load_checkpoint(kOld.string());
  CHECK(ckpt.meta.architecture == "pbcnet7");
  CHECK(ckpt.meta.input_size == 65);
  const nlohmann::json& st = ckpt.train_state;
  REQUIRE(st.is_object());
  CHECK(st.at("epoch") == 0);
  CHECK(st.at("best_value") == 0.125);
  CHECK(st.at("history").size() == 1);
  CHECK(st.at("config").at("optimizer") == "sgd");
  const TrainState state = TrainState::from_json(st, kOld.string());
  CHECK(state.epoch == 0);
  CHECK(state.best_epoch == 0);
  CHECK(state.best_value == 0.125);
  CHECK(state.monitor == Monitor::val_acc);
  CHECK(state.optimizer == "sgd");
  CHECK(state.dropout_rng.stream == 2);
  CHECK(state.init_rng.stream == 1);
  CHECK(state.manifest_hash == "1dbb05386b3dc616");
  CHECK(state.step == 0);  // not kept then
  nlohmann::json written = st;
  written["step"] = 0;  // the fields added since: the step count, an interrupted epoch's position
  written["partial"] = TrainState{}.to_json()["partial"];
  written["nonfinite_skipped"] = 0;  // and the count of skipped non-finite steps
  CHECK(state.to_json() == written);  // written back field for field, under the same names
  const TrainConfig config = TrainConfig::from_json(st.at("config"));  // config.json's form too
  CHECK(config.optimizer == OptimizerKind::sgd);
  CHECK(config.precision == Precision::fp32);  // added since: the arithmetic such runs had
  CHECK(TrainConfig{}.precision == Precision::tf32);  // where a new run starts
  nlohmann::json config_written = st.at("config");
  config_written["precision"] = "fp32";
  config_written["distributed"] = false;  // and the data-parallel fields, added since
  config_written["sync_bn"] = false;
  config_written["world_size"] = 1;
  config_written["overwrite"] = false;  // and --overwrite, --detect-anomaly, --skip-nonfinite
  config_written["detect_anomaly"] = false;
  config_written["skip_nonfinite"] = 0;
  config_written["drop_path"] = -1.0;  // and --drop-path, --memory-efficient
  config_written["memory_efficient"] = true;
  config_written["crop_scale"] = -1.0;  // and --crop-scale, --color-jitter
  config_written["color_jitter"] = true;
  config_written["fusion"] = true;  // and --no-fusion, --no-multi-tensor
  config_written["multi_tensor"] = true;
  config_written["channels_last"] = false;  // and --channels-last
  config_written["sync_every_step"] = false;  // and --sync-every-step
  config_written["cuda_graphs"] = false;  // and --cuda-graphs
  config_written["quarter_turns"] = false;  // and --quarter-turns
  CHECK(config.to_json() == config_written);
}

TEST_CASE("old checkpoint: a training state lacking a field is a clear error") {
  nlohmann::json st = load_checkpoint(kOld.string()).train_state;
  st.erase("stale");
  CHECK_THROWS_WITH_AS(TrainState::from_json(st, "x.safetensors"), doctest::Contains("x.safetensors"), Error);
}

TEST_CASE("old checkpoint: a run resumed from it continues as the old uninterrupted run did") {
  const fs::path run = test::train_work_dir("old_checkpoint") / "run";
  fs::remove_all(run);
  fs::create_directories(run);
  const TrainConfig c = [&] {
    TrainConfig r = old_config(run.string());
    r.resume = true;
    return r;
  }();
  restore_backbone(c, run / "last.safetensors");
  const TrainResult r = run_training(c, test::quiet);
  CHECK(r.epochs_run == 1);
  REQUIRE(r.train_losses.size() == 2);
  CHECK(r.train_losses[0] == 2.1430161794026694);  // from the old file's history
  CHECK(r.train_losses[1] == doctest::Approx(2.19544625).epsilon(1e-6));
  const auto epochs = read_epoch_csv((run / "epochs.csv").string());
  REQUIRE(epochs.size() == 2);
  CHECK(epochs[1].val_loss == doctest::Approx(2.0812242).epsilon(1e-6));
  CHECK(epochs[1].train_acc == doctest::Approx(0.208333333).epsilon(1e-6));
}
