// Sample orders for an epoch and class weights for the loss.
//
// All orders are pure functions of (seed, epoch): the same arguments give the same indices on any
// machine, whatever the thread count of the loader.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace hemo::data {

// 0, 1, ..., n - 1.
std::vector<int64_t> sequential_indices(int64_t n);

// A uniformly random permutation of 0..n-1 (Fisher-Yates on the (seed, epoch) stream).
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch);

// Samples per class; every label must be in [0, num_classes).
std::vector<int64_t> class_counts(std::span<const int64_t> labels, int64_t num_classes);

// Per-sample weights 1 / count(class of the sample), for weighted_indices: every class is then
// drawn equally often in expectation. Throws if a class has no sample.
std::vector<double> inverse_frequency_weights(std::span<const int64_t> labels, int64_t num_classes);

// Class weights for a weighted loss, "balanced" as scikit-learn: w_c = N / (K * count_c), so the
// weights average to 1 over samples. Throws if a class has no sample.
std::vector<float> balanced_class_weights(std::span<const int64_t> labels, int64_t num_classes);

// torch WeightedRandomSampler(weights, num_samples, replacement=True): num_samples indices drawn
// independently with probability weights[i] / sum(weights). Weights must be >= 0, finite, and
// not all zero. Uses Walker's alias method: O(n) setup, O(1) per draw.
std::vector<int64_t> weighted_indices(std::span<const double> weights, int64_t num_samples,
                                      uint64_t seed, int64_t epoch);

}  // namespace hemo::data
