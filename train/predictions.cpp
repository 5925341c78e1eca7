#include "train/predictions.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hemo::train {

double Predictions::accuracy() const {
  if (truth.empty()) return 0;
  int64_t right = 0;
  for (size_t i = 0; i < truth.size(); ++i) right += truth[i] == predicted[i];
  return static_cast<double>(right) / static_cast<double>(truth.size());
}

namespace {
// Every member holds predictions and probabilities of the same images, with the same classes.
void check_same_images(const std::vector<Predictions>& members) {
  HEMO_CHECK(!members.empty(), "ensemble of no models");
  const Predictions& first = members.front();
  const size_t n = first.truth.size();
  HEMO_CHECK(first.probabilities.size() == n && !first.probabilities.empty(),
             "ensemble: the members carry no class probabilities");
  const size_t k = first.probabilities[0].size();
  for (size_t m = 0; m < members.size(); ++m) {
    const Predictions& p = members[m];
    HEMO_CHECK(p.truth == first.truth && p.paths == first.paths, "ensemble: member ", m + 1,
               " was evaluated on other images than member 1");
    HEMO_CHECK(p.predicted.size() == n && p.probabilities.size() == n, "ensemble: member ", m + 1, " has ",
               p.predicted.size(), " predictions for ", n, " images");
    for (const auto& row : p.probabilities)
      HEMO_CHECK(row.size() == k, "ensemble: member ", m + 1, " has ", row.size(), " classes, member 1 has ", k);
  }
}
}  // namespace

Predictions ensemble(const std::vector<Predictions>& members, EnsembleRule rule) {
  check_same_images(members);
  const Predictions& first = members.front();
  const size_t n = first.truth.size();
  const size_t k = first.probabilities[0].size();
  Predictions out;
  out.paths = first.paths;
  out.truth = first.truth;
  double loss = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> mean(k, 0.0);
    std::vector<int64_t> votes(k, 0);
    for (const Predictions& p : members) {
      for (size_t c = 0; c < k; ++c) mean[c] += p.probabilities[i][c];
      ++votes.at(static_cast<size_t>(p.predicted[i]));
    }
    for (double& v : mean) v /= static_cast<double>(members.size());
    size_t best = 0;
    for (size_t c = 1; c < k; ++c) {
      const bool better = rule == EnsembleRule::vote
                              ? votes[c] > votes[best] || (votes[c] == votes[best] && mean[c] > mean[best])
                              : mean[c] > mean[best];
      if (better) best = c;
    }
    out.predicted.push_back(static_cast<int64_t>(best));
    loss -= std::log(std::max(mean.at(static_cast<size_t>(first.truth[i])), 1e-12));
    out.probabilities.emplace_back(mean.begin(), mean.end());
  }
  out.loss = n ? loss / static_cast<double>(n) : 0;
  return out;
}

std::vector<int64_t> members_right(const std::vector<Predictions>& members) {
  check_same_images(members);
  std::vector<int64_t> count(members.size() + 1, 0);
  for (size_t i = 0; i < members.front().truth.size(); ++i) {
    size_t right = 0;
    for (const Predictions& p : members) right += p.predicted[i] == p.truth[i];
    ++count[right];
  }
  return count;
}

}  // namespace hemo::train
