#include "train/csv_json.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/output_file.h"

namespace hemo::train {

namespace {

// Each file is composed in memory and written whole (core/output_file.h): a full disk fails with
// the file's name and the reason, and leaves no half-written file behind.
void write_whole(const std::string& path, const std::ostringstream& text, const char* what) {
  try {
    write_file_atomically(path, text.str());
  } catch (const Error& e) {
    throw Error(cat(what, ": ", e.what()));
  }
}

std::string class_name(const std::vector<std::string>& classes, int64_t label) {
  HEMO_CHECK(label >= 0 && label < static_cast<int64_t>(classes.size()), "write_predictions_csv: label ",
             label, " is outside [0, ", classes.size(), ")");
  return classes[static_cast<size_t>(label)];
}

}  // namespace

std::string csv_field(const std::string& s) {
  const bool needs_quotes = s.find_first_of(",\"\r\n") != std::string::npos ||
                            (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!needs_quotes) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

void write_metrics_json(const std::string& path, const Metrics& m) {
  std::ostringstream f;
  f << to_json(m).dump(2) << "\n";
  write_whole(path, f, "write_metrics_json");
}

void write_metrics_csv(const std::string& path, const Metrics& m) {
  std::ostringstream f;
  f << "class,precision,recall,specificity,f1,support,auc,tp,fp,fn,tn\n";
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    f << csv_field(m.classes[c]) << ',' << csv_number(cm.precision) << ',' << csv_number(cm.recall) << ','
      << csv_number(cm.specificity) << ',' << csv_number(cm.f1) << ',' << cm.support << ',' << csv_number(cm.auc)
      << ',' << cm.tp << ',' << cm.fp << ',' << cm.fn << ',' << cm.tn << '\n';
  }
  auto average = [&](const char* name, double p, double r, double s, double f1, double auc) {
    f << name << ',' << csv_number(p) << ',' << csv_number(r) << ',' << csv_number(s) << ',' << csv_number(f1)
      << ',' << m.total << ',' << csv_number(auc) << ",,,,\n";
  };
  average("macro avg", m.macro_precision, m.macro_recall, m.macro_specificity, m.macro_f1, m.macro_auc);
  average("weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_specificity, m.weighted_f1,
          m.weighted_auc);
  f << "accuracy,,,," << csv_number(m.accuracy) << ',' << m.total << ",,,,,\n";
  f << "kappa,,,," << csv_number(m.kappa) << ',' << m.total << ",,,,,\n";
  write_whole(path, f, "write_metrics_csv");
}

void write_confusion_csv(const std::string& path, const Metrics& m) {
  std::ostringstream f;
  f << "true\\predicted";
  for (const auto& c : m.classes) f << ',' << csv_field(c);
  f << '\n';
  for (size_t i = 0; i < m.confusion.size(); ++i) {
    f << csv_field(m.classes[i]);
    for (int64_t v : m.confusion[i]) f << ',' << v;
    f << '\n';
  }
  write_whole(path, f, "write_confusion_csv");
}

void write_predictions_csv(const std::string& path, const std::vector<std::string>& paths,
                           const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                           const std::vector<std::vector<float>>& probabilities,
                           const std::vector<std::string>& classes) {
  const size_t n = paths.size();
  HEMO_CHECK(truth.size() == n && predicted.size() == n, "write_predictions_csv: ", n, " paths, ", truth.size(),
             " true labels, ", predicted.size(), " predictions");
  HEMO_CHECK(probabilities.empty() || probabilities.size() == n, "write_predictions_csv: ", n, " paths but ",
             probabilities.size(), " probability rows");
  std::ostringstream f;
  f << "path,true,predicted,correct";
  if (!probabilities.empty())
    for (const auto& c : classes) f << ',' << csv_field("p_" + c);
  f << '\n';
  for (size_t i = 0; i < n; ++i) {
    f << csv_field(paths[i]) << ',' << csv_field(class_name(classes, truth[i])) << ','
      << csv_field(class_name(classes, predicted[i])) << ',' << (truth[i] == predicted[i] ? 1 : 0);
    if (!probabilities.empty()) {
      HEMO_CHECK(probabilities[i].size() == classes.size(), "write_predictions_csv: probability row ", i, " has ",
                 probabilities[i].size(), " entries, expected ", classes.size());
      for (float p : probabilities[i]) f << ',' << csv_number(p);
    }
    f << '\n';
  }
  write_whole(path, f, "write_predictions_csv");
}

}  // namespace hemo::train
