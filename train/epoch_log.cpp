#include "train/epoch_log.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/output_file.h"
#include "train/csv_json.h"

namespace hemo::train {

namespace {

constexpr const char* kHeader = "epoch,train_loss,train_acc,val_loss,val_acc,lr,images_per_s,seconds";

double parse_number(const std::string& field, const std::string& path, int line_no) {
  if (field.empty()) return std::numeric_limits<double>::quiet_NaN();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(field, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  HEMO_CHECK(used == field.size(), "read_epoch_csv: ", path, " line ", line_no, ": '", field, "' is not a number");
  return v;
}

}  // namespace

EpochCsv::EpochCsv(const std::string& path) : path_(path) {
  std::error_code ec;
  const bool fresh = !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
  out_ = std::make_unique<OutputFile>(path, OutputFile::Mode::append);
  if (fresh) out_->write(std::string(kHeader) + '\n');
}

void EpochCsv::append(const EpochRecord& r) {
  out_->write(cat(r.epoch, ',', csv_number(r.train_loss), ',', csv_number(r.train_acc), ',', csv_number(r.val_loss),
                  ',', csv_number(r.val_acc), ',', csv_number(r.lr), ',', csv_number(r.images_per_s), ',',
                  csv_number(r.seconds), '\n'));
}

std::vector<EpochRecord> read_epoch_csv(const std::string& path) {
  std::ifstream in(path);
  HEMO_CHECK(in.good(), "read_epoch_csv: cannot open ", path);
  std::string line;
  HEMO_CHECK(std::getline(in, line) && line == kHeader, "read_epoch_csv: ", path,
             " does not start with the header '", kHeader, "'");
  std::vector<EpochRecord> out;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const std::vector<std::string> f = csv_split(line);
    HEMO_CHECK(f.size() == 8, "read_epoch_csv: ", path, " line ", line_no, " has ", f.size(),
               " fields, expected 8");
    EpochRecord r;
    const double epoch = parse_number(f[0], path, line_no);
    HEMO_CHECK(std::isfinite(epoch), "read_epoch_csv: ", path, " line ", line_no, ": missing epoch");
    r.epoch = static_cast<int>(epoch);
    double* fields[] = {&r.train_loss, &r.train_acc, &r.val_loss, &r.val_acc, &r.lr, &r.images_per_s, &r.seconds};
    for (size_t i = 0; i < 7; ++i) *fields[i] = parse_number(f[i + 1], path, line_no);
    out.push_back(r);
  }
  return out;
}

}  // namespace hemo::train
