// The run directory's rules between runs (what one run leaves there: train/trainer.h).
//
//   A new run into a directory that holds a run's files is refused, naming them: it would
//   overwrite the previous best checkpoint and metrics, and leave its TensorBoard events beside
//   the new ones. `--resume` continues that run; `--overwrite` deletes its files first.
//
//   A resumed run keeps the run's saved configuration (config.json). Only settings that do not
//   change what is trained may differ: the number of epochs, the patience, the time limit, the
//   handling of non-finite steps (--detect-anomaly, --skip-nonfinite), and
//   where and how fast it runs (data loader threads, device, the data folder's path and the
//   manifest's, which the checkpoint's manifest hash guards), and the number of ranks as long as
//   the global batch (batch size x ranks) stays. Any other difference is refused, naming each
//   flag, the run's value and the new one.
#pragma once
#include <string>
#include <vector>

#include "train/config.h"

namespace hemo::train {

// The files of a run found in `dir` (names, sorted); empty when there are none.
std::vector<std::string> run_files_in(const std::string& dir);

// Before a new run (config.resume false): an Error when `config.out` holds a run, unless
// config.overwrite, in which case its files are deleted (split.csv too when it is the run's own
// manifest). Returns the names deleted.
std::vector<std::string> prepare_new_run_dir(const TrainConfig& config);

// The configuration the run in `dir` was started with: dir/config.json (or, for a run written
// before that file existed, its last checkpoint's). An Error naming `dir` when it holds no run.
TrainConfig saved_run_config(const std::string& dir);

// Throws an Error listing every setting of `requested` that differs from `saved` and may not
// change on resume.
void check_resume_config(const TrainConfig& saved, const TrainConfig& requested);

// The flag of a TrainConfig JSON key: "input_size" -> "--input-size" ("split_*" -> "--split").
std::string flag_of(const std::string& key);

}  // namespace hemo::train
