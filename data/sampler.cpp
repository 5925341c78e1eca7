#include "data/sampler.h"

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "data/rng.h"

namespace hemo::data {

namespace {
constexpr uint64_t kShuffleStream = 0x5348'5546'464C'4500ull;   // "SHUFFLE"
constexpr uint64_t kWeightedStream = 0x5745'4947'4854'0000ull;  // "WEIGHT"
}  // namespace

std::vector<int64_t> sequential_indices(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> v = sequential_indices(n);
  Rng rng = Rng::derive(seed, kShuffleStream, static_cast<uint64_t>(epoch));
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
  return v;
}

std::vector<int64_t> class_counts(std::span<const int64_t> labels, int64_t num_classes) {
  if (num_classes <= 0) throw Error(cat("class_counts: num_classes ", num_classes, " <= 0"));
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int64_t l : labels) {
    if (l < 0 || l >= num_classes)
      throw Error(cat("class_counts: label ", l, " not in [0, ", num_classes, ")"));
    ++counts[static_cast<size_t>(l)];
  }
  return counts;
}

namespace {
std::vector<int64_t> nonempty_counts(std::span<const int64_t> labels, int64_t num_classes,
                                     const char* what) {
  std::vector<int64_t> counts = class_counts(labels, num_classes);
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] == 0) throw Error(cat(what, ": class ", c, " has no sample"));
  return counts;
}
}  // namespace

std::vector<double> inverse_frequency_weights(std::span<const int64_t> labels, int64_t num_classes) {
  const std::vector<int64_t> counts = nonempty_counts(labels, num_classes, "inverse_frequency_weights");
  std::vector<double> w;
  w.reserve(labels.size());
  for (int64_t l : labels) w.push_back(1.0 / static_cast<double>(counts[static_cast<size_t>(l)]));
  return w;
}

std::vector<float> balanced_class_weights(std::span<const int64_t> labels, int64_t num_classes) {
  const std::vector<int64_t> counts = nonempty_counts(labels, num_classes, "balanced_class_weights");
  std::vector<float> w;
  for (int64_t c : counts)
    w.push_back(static_cast<float>(static_cast<double>(labels.size()) /
                                   (static_cast<double>(num_classes) * static_cast<double>(c))));
  return w;
}

std::vector<int64_t> weighted_indices(std::span<const double> weights, int64_t num_samples,
                                      uint64_t seed, int64_t epoch) {
  const size_t n = weights.size();
  if (n == 0) throw Error("weighted_indices: no weights");
  if (num_samples < 0) throw Error(cat("weighted_indices: num_samples ", num_samples, " < 0"));
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) throw Error(cat("weighted_indices: invalid weight ", w));
    total += w;
  }
  if (!(total > 0)) throw Error("weighted_indices: all weights are zero");
  // Walker/Vose alias table.
  std::vector<double> prob(n);
  std::vector<int64_t> alias(n, 0);
  std::vector<size_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    prob[i] = weights[i] * static_cast<double>(n) / total;
    (prob[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const size_t s = small.back(), l = large.back();
    small.pop_back();
    alias[s] = static_cast<int64_t>(l);
    prob[l] -= 1.0 - prob[s];
    if (prob[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (size_t i : large) prob[i] = 1.0;
  for (size_t i : small) prob[i] = 1.0;  // rounding leftovers
  Rng rng = Rng::derive(seed, kWeightedStream, static_cast<uint64_t>(epoch));
  std::vector<int64_t> out(static_cast<size_t>(num_samples));
  for (int64_t& o : out) {
    const size_t i = rng.below(n);
    o = rng.uniform() < prob[i] ? static_cast<int64_t>(i) : alias[i];
  }
  return out;
}

}  // namespace hemo::data
