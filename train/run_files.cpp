#include "train/run_files.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/output_file.h"
#include "train/csv_json.h"

namespace hemo::train {

namespace fs = std::filesystem;

namespace {

// JSON has no NaN: an unmeasured value (no validation set) is null in the history.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_from(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  return it->get<double>();
}

}  // namespace

void write_text_file(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},
          {"train_loss", number_or_null(r.train_loss)},
          {"train_acc", number_or_null(r.train_acc)},
          {"val_loss", number_or_null(r.val_loss)},
          {"val_acc", number_or_null(r.val_acc)},
          {"lr", number_or_null(r.lr)},
          {"images_per_s", number_or_null(r.images_per_s)},
          {"seconds", number_or_null(r.seconds)}};
}

EpochRecord epoch_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.train_loss = number_from(j, "train_loss");
  r.train_acc = number_from(j, "train_acc");
  r.val_loss = number_from(j, "val_loss");
  r.val_acc = number_from(j, "val_acc");
  r.lr = number_from(j, "lr");
  r.images_per_s = number_from(j, "images_per_s");
  r.seconds = number_from(j, "seconds");
  return r;
}

RunFiles::RunFiles(std::string dir, bool append) : dir_(std::move(dir)), append_(append) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  HEMO_CHECK(!ec, "cannot create the run directory ", dir_, ": ", ec.message());
}

std::string RunFiles::path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

void RunFiles::write_config(const nlohmann::json& config) {
  write_text_file(path("config.json"), config.dump(2) + "\n");
}

void RunFiles::log_epoch(const EpochRecord& r) {
  if (!epochs_) {
    if (!append_) fs::remove(path("epochs.csv"));
    epochs_ = std::make_unique<EpochCsv>(path("epochs.csv"));
  }
  epochs_->append(r);
  if (!events_) events_ = std::make_unique<EventWriter>(dir_);
  const struct {
    const char* tag;
    double value;
  } scalars[] = {{"train/loss", r.train_loss},
                 {"train/accuracy", r.train_acc},
                 {"val/loss", r.val_loss},
                 {"val/accuracy", r.val_acc},
                 {"lr", r.lr},
                 {"images_per_s", r.images_per_s}};
  for (const auto& s : scalars)
    if (std::isfinite(s.value)) events_->add_scalar(s.tag, s.value, r.epoch);
  events_->flush();
}

void RunFiles::restore_history(const nlohmann::json& history) {
  epochs_.reset();
  const std::string csv = path("epochs.csv");
  const std::string tmp = csv + ".restore";
  fs::remove(tmp);
  {
    EpochCsv rewritten(tmp);
    for (const auto& h : history) rewritten.append(epoch_from_json(h));
  }
  std::error_code ec;
  fs::rename(tmp, csv, ec);
  HEMO_CHECK(!ec, "cannot rename ", tmp, " to ", csv, ": ", ec.message());
  append_ = true;
}

void RunFiles::write_evaluation(const Metrics& m, const std::vector<std::string>& paths,
                                const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                                const std::vector<std::vector<float>>& probabilities,
                                const std::vector<std::string>& classes) {
  write_metrics_json(path("metrics.json"), m);
  write_metrics_csv(path("metrics.csv"), m);
  write_confusion_csv(path("confusion.csv"), m);
  write_predictions_csv(path("predictions.csv"), paths, truth, predicted, probabilities, classes);
}

void RunFiles::write_report(const nlohmann::json& config, const nlohmann::json& history, const Metrics& m,
                            const std::string& title, const std::vector<GalleryItem>& gallery) {
  ReportData d;
  d.title = title;
  d.metrics = m;
  d.config = config;
  d.gallery = gallery;
  for (const auto& h : history) d.epochs.push_back(epoch_from_json(h));
  write_text_file(path("report.html"), render_report(d));
}

const std::string& RunFiles::events_path() const {
  static const std::string none;
  return events_ ? events_->path() : none;
}

}  // namespace hemo::train
