// Evaluation files: metrics as JSON and CSV, the confusion matrix as CSV, and per-image
// predictions as CSV. CSV follows RFC 4180: comma separated, "\n" line ends, a field holding a
// comma, a double quote, a CR/LF or leading/trailing spaces is quoted, inner quotes doubled.
// Numbers are written with enough digits to round-trip a float ("%.9g"); NaN is an empty field.
// Every writer replaces its file whole (a temporary file and a rename, core/output_file.h) and
// throws hemo::Error naming the path and the reason ("No space left on device") if it cannot.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/metrics.h"

namespace hemo::train {

// One CSV field, quoted when needed.
std::string csv_field(const std::string& s);
// A number as a CSV field ("" for NaN).
std::string csv_number(double v);
// Splits one CSV record (no embedded newlines) into fields, undoing csv_field's quoting.
std::vector<std::string> csv_split(const std::string& line);

// to_json(m), pretty-printed.
void write_metrics_json(const std::string& path, const Metrics& m);

// Columns: class,precision,recall,specificity,f1,support,auc,tp,fp,fn,tn. One row per class,
// then "macro avg" and "weighted avg" (support = total; tp..tn empty), then "accuracy" and
// "kappa" rows whose value sits in the f1 column, where sklearn's report prints accuracy.
void write_metrics_csv(const std::string& path, const Metrics& m);

// Header ",<class>..." then one row per true class: "<class>,<count>...".
void write_confusion_csv(const std::string& path, const Metrics& m);

// Columns: path,true,predicted,correct,p_<class>... (the p_ columns only when probabilities is
// not empty). true/predicted are class names.
void write_predictions_csv(const std::string& path, const std::vector<std::string>& paths,
                           const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                           const std::vector<std::vector<float>>& probabilities,
                           const std::vector<std::string>& classes);

}  // namespace hemo::train
