// Metrics against confusion matrices worked out by hand (the numbers in the comments), the
// Mann-Whitney ROC-AUC against hand-ranked cases and an independent pair-counting reference, and
// the ensemble rules on hand-made votes.
#include "train/metrics.h"

#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "tensor/rng.h"
#include "train/predictions.h"

using namespace hemo::train;
using doctest::Approx;

namespace {

// Expands a confusion matrix into (truth, predicted) label lists, row by row.
void labels_from_confusion(const std::vector<std::vector<int64_t>>& c, std::vector<int64_t>& truth,
                           std::vector<int64_t>& pred) {
  for (size_t i = 0; i < c.size(); ++i)
    for (size_t j = 0; j < c[i].size(); ++j)
      for (int64_t n = 0; n < c[i][j]; ++n) {
        truth.push_back(static_cast<int64_t>(i));
        pred.push_back(static_cast<int64_t>(j));
      }
}

// AUC as the fraction of (positive, negative) pairs ranked correctly, ties counting one half.
double auc_by_pairs(const std::vector<double>& s, const std::vector<bool>& pos) {
  double good = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (pos[i] && !pos[j]) {
        pairs += 1;
        good += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return good / pairs;
}

}  // namespace

TEST_CASE("metrics: a 3-class confusion matrix worked out by hand") {
  // rows = true, columns = predicted; N = 20, trace 15
  const std::vector<std::vector<int64_t>> c = {{5, 1, 0}, {2, 3, 1}, {0, 1, 7}};
  std::vector<int64_t> truth, pred;
  labels_from_confusion(c, truth, pred);
  const Metrics m = compute_metrics(truth, pred, {}, {"a", "b", "c"});
  CHECK(m.confusion == c);
  CHECK(m.total == 20);
  CHECK(m.accuracy == Approx(0.75));
  // class a: TP 5, FP 2 (column 7 - 5), FN 1 (row 6 - 5), TN 12
  CHECK(m.per_class[0].tp == 5);
  CHECK(m.per_class[0].fp == 2);
  CHECK(m.per_class[0].fn == 1);
  CHECK(m.per_class[0].tn == 12);
  CHECK(m.per_class[0].precision == Approx(5.0 / 7));
  CHECK(m.per_class[0].recall == Approx(5.0 / 6));
  CHECK(m.per_class[0].specificity == Approx(12.0 / 14));
  CHECK(m.per_class[0].f1 == Approx(10.0 / 13));
  CHECK(m.per_class[0].support == 6);
  // class b: TP 3, FP 2, FN 3, TN 12
  CHECK(m.per_class[1].precision == Approx(3.0 / 5));
  CHECK(m.per_class[1].recall == Approx(0.5));
  CHECK(m.per_class[1].specificity == Approx(12.0 / 14));
  CHECK(m.per_class[1].f1 == Approx(6.0 / 11));
  // class c: TP 7, FP 1, FN 1, TN 11
  CHECK(m.per_class[2].precision == Approx(7.0 / 8));
  CHECK(m.per_class[2].recall == Approx(7.0 / 8));
  CHECK(m.per_class[2].specificity == Approx(11.0 / 12));
  CHECK(m.per_class[2].f1 == Approx(7.0 / 8));
  CHECK(m.per_class[2].support == 8);
  CHECK(m.macro_precision == Approx((5.0 / 7 + 3.0 / 5 + 7.0 / 8) / 3));
  CHECK(m.macro_recall == Approx((5.0 / 6 + 0.5 + 7.0 / 8) / 3));
  CHECK(m.macro_specificity == Approx((12.0 / 14 + 12.0 / 14 + 11.0 / 12) / 3));
  CHECK(m.macro_f1 == Approx((10.0 / 13 + 6.0 / 11 + 7.0 / 8) / 3));
  CHECK(m.weighted_precision == Approx((6 * 5.0 / 7 + 6 * 3.0 / 5 + 8 * 7.0 / 8) / 20));
  CHECK(m.weighted_recall == Approx(0.75));  // weighted recall is always the accuracy
  CHECK(m.weighted_f1 == Approx((6 * 10.0 / 13 + 6 * 6.0 / 11 + 8 * 7.0 / 8) / 20));
  // p_e = (6*7 + 6*5 + 8*8) / 400 = 0.34; kappa = (0.75 - 0.34) / 0.66
  CHECK(m.kappa == Approx(41.0 / 66));
  CHECK(std::isnan(m.per_class[0].auc));  // no probabilities given
  CHECK(std::isnan(m.macro_auc));
}

TEST_CASE("metrics: a 2-class matrix (the textbook sensitivity/specificity case)") {
  // 40 sick: 30 detected; 60 healthy: 45 cleared.  C = [[45, 15], [10, 30]] with class 1 = sick
  std::vector<int64_t> truth, pred;
  labels_from_confusion({{45, 15}, {10, 30}}, truth, pred);
  const Metrics m = compute_metrics(truth, pred, {}, {"healthy", "sick"});
  CHECK(m.per_class[1].recall == Approx(0.75));       // sensitivity 30 / 40
  CHECK(m.per_class[1].specificity == Approx(0.75));  // 45 / 60
  CHECK(m.per_class[1].precision == Approx(30.0 / 45));
  CHECK(m.per_class[0].recall == Approx(0.75));       // 45 / 60
  CHECK(m.per_class[0].specificity == Approx(0.75));  // 30 / 40
  CHECK(m.accuracy == Approx(0.75));
  // p_e = (60*55 + 40*45) / 10000 = 0.51; kappa = 0.24 / 0.49
  CHECK(m.kappa == Approx(0.24 / 0.49));
}

TEST_CASE("metrics: zero denominators are 0, as sklearn's zero_division=0") {
  // class c has no sample and is never predicted; b is never predicted correctly.
  const std::vector<int64_t> truth = {0, 0, 1, 1}, pred = {0, 1, 0, 0};
  const Metrics m = compute_metrics(truth, pred, {}, {"a", "b", "c"});
  CHECK(m.per_class[2].support == 0);
  CHECK(m.per_class[2].precision == 0);
  CHECK(m.per_class[2].recall == 0);
  CHECK(m.per_class[2].f1 == 0);
  CHECK(m.per_class[2].specificity == 1);  // TN 4, FP 0
  CHECK(m.per_class[1].precision == 0);    // TP 0, FP 1
  CHECK(m.per_class[1].f1 == 0);
  CHECK(m.per_class[0].precision == Approx(1.0 / 3));
  CHECK(m.macro_precision == Approx((1.0 / 3) / 3));  // averaged over all three classes
  // Perfect agreement on a single class: p_e = 1, kappa defined as 0.
  const Metrics one = compute_metrics({0, 0, 0}, {0, 0, 0}, {}, {"a", "b"});
  CHECK(one.accuracy == 1);
  CHECK(one.kappa == 0);
}

TEST_CASE("metrics: bad input is a clear error") {
  CHECK_THROWS_AS(compute_metrics({}, {}, {}, {"a", "b"}), hemo::Error);
  CHECK_THROWS_AS(compute_metrics({0, 1}, {0}, {}, {"a", "b"}), hemo::Error);
  CHECK_THROWS_WITH_AS(compute_metrics({0, 2}, {0, 1}, {}, {"a", "b"}), doctest::Contains("true label 2"), hemo::Error);
  CHECK_THROWS_AS(compute_metrics({0, 1}, {0, -1}, {}, {"a", "b"}), hemo::Error);
  CHECK_THROWS_AS(compute_metrics({0, 1}, {0, 1}, {{0.5f, 0.5f}}, {"a", "b"}), hemo::Error);
  CHECK_THROWS_AS(compute_metrics({0, 1}, {0, 1}, {{0.5f, 0.5f}, {1.0f}}, {"a", "b"}), hemo::Error);
}

TEST_CASE("roc_auc: hand-ranked cases") {
  // sklearn's doc example: scores 0.1 0.4 0.35 0.8, labels 0 0 1 1 -> 0.75
  CHECK(roc_auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == Approx(0.75));
  // A tie across classes: ranks 1, 2.5, 2.5, 4; positives hold 2.5 + 4 = 6.5 -> (6.5 - 3) / 4
  CHECK(roc_auc({0.5, 0.5, 0.2, 0.9}, {true, false, false, true}) == Approx(0.875));
  CHECK(roc_auc({0.9, 0.8, 0.1}, {true, true, false}) == Approx(1.0));
  CHECK(roc_auc({0.1, 0.8, 0.9}, {true, false, false}) == Approx(0.0));
  CHECK(roc_auc({0.3, 0.3, 0.3, 0.3}, {true, false, true, false}) == Approx(0.5));
  CHECK(std::isnan(roc_auc({0.3, 0.4}, {true, true})));
  CHECK(std::isnan(roc_auc({0.3, 0.4}, {false, false})));
  CHECK_THROWS_AS(roc_auc({0.3, NAN}, {true, false}), hemo::Error);
}

TEST_CASE("roc_auc: equals the pair-counting definition on random scores with ties") {
  hemo::Generator g(11);
  for (int trial = 0; trial < 20; ++trial) {
    const size_t n = 5 + g.below(60);
    std::vector<double> s(n);
    std::vector<bool> pos(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = static_cast<double>(g.below(12)) / 11.0;  // coarse scores: many ties
      pos[i] = g.uniform() < 0.4;
    }
    pos[0] = true;
    pos[1] = false;
    CHECK(roc_auc(s, pos) == Approx(auc_by_pairs(s, pos)).epsilon(1e-12));
  }
}

TEST_CASE("metrics: one-vs-rest AUC per class, macro and support-weighted") {
  const std::vector<int64_t> truth = {0, 0, 1, 1, 2, 2};
  const std::vector<std::vector<float>> p = {{0.7f, 0.2f, 0.1f}, {0.3f, 0.4f, 0.3f}, {0.2f, 0.6f, 0.2f},
                                             {0.5f, 0.3f, 0.2f}, {0.1f, 0.1f, 0.8f}, {0.2f, 0.2f, 0.6f}};
  const Metrics m = compute_metrics(truth, argmax_rows(p), p, {"a", "b", "c"});
  // class a: positives 0.7 0.3; negatives 0.2 0.5 0.1 0.2 -> pairs won: 4 + 3 = 7 of 8
  CHECK(m.per_class[0].auc == Approx(7.0 / 8));
  // class b: positives 0.6 0.3; negatives 0.2 0.4 0.1 0.2 -> 4 + 3 = 7 of 8
  CHECK(m.per_class[1].auc == Approx(7.0 / 8));
  // class c: positives 0.8 0.6; negatives 0.1 0.3 0.2 0.2 -> 8 of 8
  CHECK(m.per_class[2].auc == Approx(1.0));
  CHECK(m.macro_auc == Approx((0.875 + 0.875 + 1.0) / 3));
  CHECK(m.weighted_auc == Approx((0.875 + 0.875 + 1.0) / 3));  // equal supports
  CHECK(m.accuracy == Approx(4.0 / 6));                        // rows 1 and 3 are wrong
}

TEST_CASE("argmax_rows: the first index wins a tie") {
  CHECK(argmax_rows({{0.2f, 0.5f, 0.5f}, {0.9f, 0.05f, 0.05f}, {0.1f, 0.1f, 0.8f}}) == std::vector<int64_t>{1, 0, 2});
}

TEST_CASE("format_table and to_json carry every number") {
  std::vector<int64_t> truth, pred;
  labels_from_confusion({{5, 1, 0}, {2, 3, 1}, {0, 1, 7}}, truth, pred);
  const Metrics m = compute_metrics(truth, pred, {}, {"basophil", "eosinophil", "erythroblast"});
  const std::string t = format_table(m);
  CHECK(t.find("basophil") != std::string::npos);
  CHECK(t.find("0.7143") != std::string::npos);  // precision of basophil, 5/7
  CHECK(t.find("0.6212") != std::string::npos);  // kappa 41/66
  CHECK(t.find("n/a") != std::string::npos);     // AUC without probabilities
  const nlohmann::json j = to_json(m);
  CHECK(j["accuracy"].get<double>() == Approx(0.75));
  CHECK(j["per_class"][1]["f1"].get<double>() == Approx(6.0 / 11));
  CHECK(j["per_class"][0]["auc"].is_null());
  CHECK(j["confusion"][2][2].get<int>() == 7);
}

TEST_CASE("ensemble: majority vote, ties broken by the mean probability; mean rule") {
  Predictions a, b, c;
  for (Predictions* p : {&a, &b, &c}) {
    p->paths = {"x", "y"};
    p->truth = {0, 1};
  }
  // image x: votes 0, 0, 2 -> 0 by majority although the mean probability favours 2
  // image y: votes 1, 2 (two members) -> a tie, broken by the mean probability (class 2)
  a.probabilities = {{0.40f, 0.25f, 0.35f}, {0.2f, 0.5f, 0.3f}};
  b.probabilities = {{0.40f, 0.25f, 0.35f}, {0.1f, 0.2f, 0.7f}};
  c.probabilities = {{0.01f, 0.01f, 0.98f}, {0.3f, 0.3f, 0.4f}};
  a.predicted = {0, 1};
  b.predicted = {0, 2};
  c.predicted = {2, 2};
  const Predictions vote3 = ensemble({a, b, c}, EnsembleRule::vote);
  CHECK(vote3.predicted == std::vector<int64_t>{0, 2});
  const Predictions mean3 = ensemble({a, b, c}, EnsembleRule::mean);
  CHECK(mean3.predicted == std::vector<int64_t>{2, 2});  // x: mean(0) 0.27 < mean(2) 0.56
  CHECK(mean3.probabilities[0][2] == Approx((0.35 + 0.35 + 0.98) / 3).epsilon(1e-6));
  const Predictions tie = ensemble({a, b}, EnsembleRule::vote);  // y: 1 vs 2, means 0.35 vs 0.5
  CHECK(tie.predicted == std::vector<int64_t>{0, 2});
  CHECK(tie.loss == Approx(-(std::log(0.40) + std::log(0.35)) / 2).epsilon(1e-6));
  Predictions other = a;
  other.paths = {"x", "z"};
  CHECK_THROWS_AS(ensemble({a, other}, EnsembleRule::vote), hemo::Error);
  CHECK_THROWS_AS(members_right({a, other}), hemo::Error);
  // right per image: x by a and b (truth 0), y by a alone (truth 1)
  CHECK(members_right({a, b, c}) == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(members_right({c}) == std::vector<int64_t>{2, 0});
  CHECK(members_right({a, a}) == std::vector<int64_t>{0, 0, 2});
}
