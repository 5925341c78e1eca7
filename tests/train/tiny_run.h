// A tiny, fast training setup for trainer tests: 6 synthetic 72x72 images per class (drawn once
// per build tree), pbcnet7 at its smallest input (65), 3 epochs of batch 8, dropout and
// augmentation on so that their random streams are exercised too.
#pragma once
#include <filesystem>
#include <string>

#include "data/synth.h"
#include "tests/train/train_test_util.h"
#include "train/config.h"

namespace hemo::test {

inline std::filesystem::path tiny_dataset() {
  const std::filesystem::path dir = train_work_dir("tiny_data") / "synth";
  if (!std::filesystem::exists(dir / "platelet")) {
    std::filesystem::remove_all(dir);
    data::synth::generate(dir, 6, 72, 7, "png", 2);
  }
  return dir;
}

inline train::TrainConfig tiny_config(const std::string& out) {
  train::TrainConfig c;
  c.model = "pbcnet7";
  c.data = tiny_dataset().string();
  c.out = out;
  c.input_size = 65;  // the smallest input pbcnet7's seven 2x2 pools take
  c.epochs = 3;
  c.batch_size = 8;
  c.optimizer = train::OptimizerKind::adam;
  c.lr = 1e-3;
  c.dropout = 0.25;
  c.augment = true;
  c.split_train = 0.5, c.split_val = 0.25, c.split_test = 0.25;
  c.threads = 2;
  c.seed = 5;
  return c;
}

inline void quiet(const std::string&) {}

}  // namespace hemo::test
