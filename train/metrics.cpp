#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace hemo::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

std::string fixed(double v, int width, int precision = 4) {
  char buf[64];
  if (std::isnan(v))
    std::snprintf(buf, sizeof buf, "%*s", width, "n/a");
  else
    std::snprintf(buf, sizeof buf, "%*.*f", width, precision, v);
  return buf;
}

std::string padded(const std::string& s, int width, bool left = false) {
  if (static_cast<int>(s.size()) >= width) return s;
  const std::string pad(static_cast<size_t>(width) - s.size(), ' ');
  return left ? s + pad : pad + s;
}

nlohmann::json number_or_null(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  HEMO_CHECK(scores.size() == positive.size(), "roc_auc: ", scores.size(), " scores but ", positive.size(),
             " labels");
  const size_t n = scores.size();
  for (size_t i = 0; i < n; ++i)
    HEMO_CHECK(std::isfinite(scores[i]), "roc_auc: score ", i, " is ", scores[i], " (not finite)");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  int64_t npos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t t = i; t < j; ++t)
      if (positive[order[t]]) {
        rank_sum += avg_rank;
        ++npos;
      }
    i = j;
  }
  const int64_t nneg = static_cast<int64_t>(n) - npos;
  if (npos == 0 || nneg == 0) return kNaN;
  const double p = static_cast<double>(npos), q = static_cast<double>(nneg);
  return (rank_sum - p * (p + 1) / 2) / (p * q);
}

std::vector<int64_t> argmax_rows(const std::vector<std::vector<float>>& probabilities) {
  std::vector<int64_t> out(probabilities.size());
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const auto& row = probabilities[i];
    HEMO_CHECK(!row.empty(), "argmax_rows: row ", i, " is empty");
    out[i] = std::max_element(row.begin(), row.end()) - row.begin();
  }
  return out;
}

Metrics compute_metrics(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                        const std::vector<std::vector<float>>& probabilities,
                        const std::vector<std::string>& classes) {
  const size_t k = classes.size();
  const size_t n = truth.size();
  HEMO_CHECK(k > 0, "compute_metrics: no class names");
  HEMO_CHECK(n > 0, "compute_metrics: no samples");
  HEMO_CHECK(predicted.size() == n, "compute_metrics: ", n, " true labels but ", predicted.size(), " predictions");
  HEMO_CHECK(probabilities.empty() || probabilities.size() == n, "compute_metrics: ", n, " samples but ",
             probabilities.size(), " probability rows");
  Metrics m;
  m.classes = classes;
  m.total = static_cast<int64_t>(n);
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = truth[i], p = predicted[i];
    HEMO_CHECK(t >= 0 && t < static_cast<int64_t>(k), "compute_metrics: true label ", t, " of sample ", i,
               " is outside [0, ", k, ")");
    HEMO_CHECK(p >= 0 && p < static_cast<int64_t>(k), "compute_metrics: predicted label ", p, " of sample ", i,
               " is outside [0, ", k, ")");
    if (!probabilities.empty())
      HEMO_CHECK(probabilities[i].size() == k, "compute_metrics: probability row ", i, " has ",
                 probabilities[i].size(), " entries, expected ", k);
    ++m.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
  }

  const double total = static_cast<double>(n);
  std::vector<int64_t> row(k, 0), col(k, 0);
  int64_t trace = 0;
  for (size_t i = 0; i < k; ++i) {
    trace += m.confusion[i][i];
    for (size_t j = 0; j < k; ++j) {
      row[i] += m.confusion[i][j];
      col[j] += m.confusion[i][j];
    }
  }
  m.accuracy = static_cast<double>(trace) / total;
  double pe = 0;
  for (size_t i = 0; i < k; ++i) pe += static_cast<double>(row[i]) * static_cast<double>(col[i]);
  pe /= total * total;
  m.kappa = ratio(m.accuracy - pe, 1 - pe);

  m.per_class.resize(k);
  double auc_sum = 0, auc_weighted = 0, auc_support = 0;
  int auc_count = 0;
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics& cm = m.per_class[c];
    cm.tp = m.confusion[c][c];
    cm.fp = col[c] - cm.tp;
    cm.fn = row[c] - cm.tp;
    cm.tn = m.total - cm.tp - cm.fp - cm.fn;
    cm.support = row[c];
    const double tp = static_cast<double>(cm.tp), fp = static_cast<double>(cm.fp);
    const double fn = static_cast<double>(cm.fn), tn = static_cast<double>(cm.tn);
    cm.precision = ratio(tp, tp + fp);
    cm.recall = ratio(tp, tp + fn);
    cm.specificity = ratio(tn, tn + fp);
    cm.f1 = ratio(2 * tp, 2 * tp + fp + fn);
    cm.auc = kNaN;
    if (!probabilities.empty()) {
      std::vector<double> scores(n);
      std::vector<bool> positive(n);
      for (size_t i = 0; i < n; ++i) {
        scores[i] = probabilities[i][c];
        positive[i] = truth[i] == static_cast<int64_t>(c);
      }
      cm.auc = roc_auc(scores, positive);
      if (!std::isnan(cm.auc)) {
        auc_sum += cm.auc;
        auc_weighted += cm.auc * static_cast<double>(cm.support);
        auc_support += static_cast<double>(cm.support);
        ++auc_count;
      }
    }
    const double w = static_cast<double>(cm.support) / total;
    m.macro_precision += cm.precision / static_cast<double>(k);
    m.macro_recall += cm.recall / static_cast<double>(k);
    m.macro_specificity += cm.specificity / static_cast<double>(k);
    m.macro_f1 += cm.f1 / static_cast<double>(k);
    m.weighted_precision += w * cm.precision;
    m.weighted_recall += w * cm.recall;
    m.weighted_specificity += w * cm.specificity;
    m.weighted_f1 += w * cm.f1;
  }
  m.macro_auc = auc_count ? auc_sum / auc_count : kNaN;
  m.weighted_auc = auc_support > 0 ? auc_weighted / auc_support : kNaN;
  return m;
}

std::string format_table(const Metrics& m) {
  // Built with appends only: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string chains.
  int name_w = 12;
  for (const auto& c : m.classes) name_w = std::max(name_w, static_cast<int>(c.size()));
  std::string out;
  if (!m.evaluated_on.empty()) {
    out += "evaluated on ";
    out += m.evaluated_on;
    out += "\n\n";
  }
  auto line = [&](const std::string& name, double p, double r, double s, double f, int64_t support, double auc) {
    out += padded(name, name_w);
    out += fixed(p, 11);
    out += fixed(r, 10);
    out += fixed(s, 13);
    out += fixed(f, 10);
    out += padded(std::to_string(support), 10);
    out += fixed(auc, 10);
    out += '\n';
  };
  out += padded("", name_w);
  out += "  precision    recall  specificity  f1-score   support       auc\n\n";
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    line(m.classes[c], cm.precision, cm.recall, cm.specificity, cm.f1, cm.support, cm.auc);
  }
  out += '\n';
  out += padded("accuracy", name_w);
  out += padded("", 34);
  out += fixed(m.accuracy, 10);
  out += padded(std::to_string(m.total), 10);
  out += '\n';
  line("macro avg", m.macro_precision, m.macro_recall, m.macro_specificity, m.macro_f1, m.total, m.macro_auc);
  line("weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_specificity, m.weighted_f1, m.total,
       m.weighted_auc);
  out += '\n';
  out += padded("Cohen's kappa", name_w);
  out += fixed(m.kappa, 11);
  out += "\n\nconfusion matrix (rows = true, columns = predicted)\n";
  int cell_w = 6;
  for (const auto& c : m.classes) cell_w = std::max(cell_w, static_cast<int>(c.size()) + 1);
  out += padded("", name_w);
  for (const auto& c : m.classes) out += padded(c, cell_w + 1);
  out += '\n';
  for (size_t i = 0; i < m.confusion.size(); ++i) {
    out += padded(m.classes[i], name_w);
    for (int64_t v : m.confusion[i]) out += padded(std::to_string(v), cell_w + 1);
    out += '\n';
  }
  return out;
}

nlohmann::json to_json(const Metrics& m) {
  using nlohmann::json;
  json per_class = json::array();
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    per_class.push_back({{"class", m.classes[c]},   {"precision", cm.precision}, {"recall", cm.recall},
                         {"specificity", cm.specificity}, {"f1", cm.f1},      {"support", cm.support},
                         {"auc", number_or_null(cm.auc)}, {"tp", cm.tp},     {"fp", cm.fp},
                         {"fn", cm.fn},                 {"tn", cm.tn}});
  }
  return {{"classes", m.classes},
          {"total", m.total},
          {"accuracy", m.accuracy},
          {"kappa", m.kappa},
          {"macro",
           {{"precision", m.macro_precision},
            {"recall", m.macro_recall},
            {"specificity", m.macro_specificity},
            {"f1", m.macro_f1},
            {"auc", number_or_null(m.macro_auc)}}},
          {"weighted",
           {{"precision", m.weighted_precision},
            {"recall", m.weighted_recall},
            {"specificity", m.weighted_specificity},
            {"f1", m.weighted_f1},
            {"auc", number_or_null(m.weighted_auc)}}},
          {"per_class", per_class},
          {"confusion", m.confusion},
          {"zero_division", "0/0 is defined as 0"},
          {"evaluated_on", m.evaluated_on}};
}

}  // namespace hemo::train
