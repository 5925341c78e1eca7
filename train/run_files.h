// RunFiles: what a training run or an evaluation leaves in its directory, behind one object.
//
//   config.json              write_config: the resolved configuration (pretty JSON)
//   epochs.csv               log_epoch: one line per epoch (epoch_log.h), flushed at once
//   events.out.tfevents.*    log_epoch: the same values as TensorBoard scalars (tensorboard.h),
//                            tags train/loss train/accuracy val/loss val/accuracy lr images_per_s,
//                            step = epoch (1-based)
//   metrics.json metrics.csv confusion.csv predictions.csv    write_evaluation (csv_json.h)
//   report.html              write_report (report_html.h)
// The epoch log and the event file are opened on the first log_epoch, so an evaluation leaves
// neither. Every write is checked (core/output_file.h): a full disk or an unwritable directory is
// a hemo::Error naming the file and the reason, never ignored. Whole files (config, metrics, report) are written to a temporary name and renamed, so a
// reader never sees half of one.
//
// Resuming: RunFiles(dir, append = true) keeps what is there; restore_history(history) then
// rewrites epochs.csv from the checkpoint's history, dropping any line of an epoch that finished
// after the checkpoint was written (a crash between the two), so the log again equals the history.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/epoch_log.h"
#include "train/metrics.h"
#include "train/report_html.h"
#include "train/tensorboard.h"

namespace hemo::train {

// Writes `text` to `path` through a temporary file and a rename (core/output_file.h); throws
// hemo::Error naming the path and the reason (e.g. "No space left on device").
void write_text_file(const std::string& path, const std::string& text);

// The history a checkpoint stores: one JSON object per epoch with EpochRecord's fields.
nlohmann::json to_json(const EpochRecord& r);
EpochRecord epoch_from_json(const nlohmann::json& j);

class RunFiles {
 public:
  // Creates `dir` (and parents). append = false starts a fresh epoch log (an old one is replaced
  // on the first log_epoch); true appends to it.
  RunFiles(std::string dir, bool append);

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const;  // dir / name

  void write_config(const nlohmann::json& config);
  void log_epoch(const EpochRecord& r);
  void restore_history(const nlohmann::json& history);
  void write_evaluation(const Metrics& m, const std::vector<std::string>& paths, const std::vector<int64_t>& truth,
                        const std::vector<int64_t>& predicted, const std::vector<std::vector<float>>& probabilities,
                        const std::vector<std::string>& classes);
  // history: the per-epoch JSON objects (may be empty, e.g. for an evaluation).
  void write_report(const nlohmann::json& config, const nlohmann::json& history, const Metrics& m,
                    const std::string& title, const std::vector<GalleryItem>& gallery = {});
  const std::string& events_path() const;  // "" before the first log_epoch

 private:
  std::string dir_;
  bool append_;
  std::unique_ptr<EpochCsv> epochs_;
  std::unique_ptr<EventWriter> events_;
};

}  // namespace hemo::train
