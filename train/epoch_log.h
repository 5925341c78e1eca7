// The per-epoch log of a run: one CSV line per epoch, appended and flushed as soon as the epoch
// ends, so a crashed or interrupted run keeps every finished epoch. The header is written once,
// when the file is new or empty; a resumed run appends to the same file.
//
// Columns: epoch,train_loss,train_acc,val_loss,val_acc,lr,images_per_s,seconds
// A value that was not measured (no validation set) is NaN in memory and an empty field on disk.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/output_file.h"

namespace hemo::train {

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0, lr = 0, images_per_s = 0, seconds = 0;
};

class EpochCsv {
 public:
  // Opens `path` for appending (creating it); throws hemo::Error naming it if it cannot.
  explicit EpochCsv(const std::string& path);
  // Writes one line straight to the file; a failed write (a full disk) throws hemo::Error naming
  // the file and the reason.
  void append(const EpochRecord& r);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<OutputFile> out_;
};

// Reads a file written by EpochCsv (header checked); throws hemo::Error on a malformed line.
std::vector<EpochRecord> read_epoch_csv(const std::string& path);

}  // namespace hemo::train
