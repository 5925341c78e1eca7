// Classification metrics as the blood-cell papers report them, computed from plain labels and
// probabilities (no tensors, no autograd).
//
// Confusion matrix C (K x K): rows are the true class, columns the predicted class; C[i][j] counts
// samples of class i predicted as j. With N = sum of all entries, for class k (one-vs-rest):
//   TP = C[k][k]        FP = column sum - TP        FN = row sum - TP        TN = N - TP - FP - FN
//   precision   = TP / (TP + FP)
//   recall      = TP / (TP + FN)          (sensitivity)
//   specificity = TN / (TN + FP)
//   F1          = 2 TP / (2 TP + FP + FN) (= 2 P R / (P + R) wherever that is defined)
//   support     = TP + FN                 (the row sum)
// Every ratio whose denominator is 0 is defined as 0 (sklearn's zero_division=0), including
// kappa when the expected agreement is 1.
//   accuracy     = trace(C) / N
//   macro avg    = unweighted mean over all K classes
//   weighted avg = sum_k support_k * m_k / N
//   Cohen's kappa = (p_o - p_e) / (1 - p_e), p_o = accuracy, p_e = sum_k row_k * col_k / N^2
//
// ROC-AUC, one-vs-rest, per class k from the score p[:, k]: the Mann-Whitney statistic
//   AUC = (R_pos - P (P + 1) / 2) / (P * Q)
// where R_pos is the sum of the (1-based, ties averaged) ranks of the P positive samples among
// all N = P + Q samples. It is NaN for a class without positives or without negatives (and for
// every class when no probabilities are given); macro_auc averages the classes where it is
// defined (NaN when none is), weighted_auc weights those classes by support.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hemo::train {

struct ClassMetrics {
  double precision = 0, recall = 0, specificity = 0, f1 = 0;
  int64_t support = 0, tp = 0, fp = 0, fn = 0, tn = 0;
  double auc = 0;  // NaN where undefined (see above)
};

struct Metrics {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  int64_t total = 0;
  double accuracy = 0, kappa = 0;
  double macro_precision = 0, macro_recall = 0, macro_specificity = 0, macro_f1 = 0, macro_auc = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_specificity = 0, weighted_f1 = 0,
         weighted_auc = 0;
  std::vector<ClassMetrics> per_class;
  // Which images these are, for the reader: "the test split", or for a run without one "the
  // validation split (no test split: ...)"; "" when the caller does not say. Shown by format_table,
  // metrics.json ("evaluated_on") and report.html.
  std::string evaluated_on;
};

// truth[i], predicted[i] in [0, classes.size()); probabilities is empty (no AUC) or has one row
// of classes.size() scores per sample. Throws hemo::Error on empty input, mismatched sizes or a
// label out of range.
Metrics compute_metrics(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                        const std::vector<std::vector<float>>& probabilities,
                        const std::vector<std::string>& classes);

// One-vs-rest ROC-AUC of `scores` for the samples where positive[i] is true (NaN without both
// positives and negatives). Ties get the average rank.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

// Predicted class = argmax of each probability row (the first index on ties).
std::vector<int64_t> argmax_rows(const std::vector<std::vector<float>>& probabilities);

// A terminal table in the style of sklearn's classification_report with specificity and AUC
// columns, then accuracy, the averages, kappa and the confusion matrix.
std::string format_table(const Metrics& m);

// Everything in Metrics; NaN becomes null.
nlohmann::json to_json(const Metrics& m);

}  // namespace hemo::train
