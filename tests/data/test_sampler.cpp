// Samplers and class weights.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/error.h"
#include "data/sampler.h"

using namespace hemo::data;

TEST_CASE("shuffled_indices is a seeded permutation, new each epoch") {
  const auto a = shuffled_indices(1000, 7, 0);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == sequential_indices(1000));
  CHECK(a == shuffled_indices(1000, 7, 0));
  CHECK(a != shuffled_indices(1000, 7, 1));
  CHECK(a != shuffled_indices(1000, 8, 0));
  CHECK(a != sequential_indices(1000));
}

TEST_CASE("class counts and balanced class weights") {
  std::vector<int64_t> labels(100, 0);
  std::fill(labels.begin() + 90, labels.end(), 1);
  CHECK(class_counts(labels, 2) == std::vector<int64_t>{90, 10});
  const auto w = balanced_class_weights(labels, 2);  // 100 / (2 * 90), 100 / (2 * 10)
  CHECK(w[0] == doctest::Approx(0.5556).epsilon(1e-3));
  CHECK(w[1] == doctest::Approx(5.0));
  const auto sw = inverse_frequency_weights(labels, 2);
  CHECK(sw[0] == doctest::Approx(1.0 / 90));
  CHECK(sw[99] == doctest::Approx(0.1));
  CHECK_THROWS_WITH_AS(balanced_class_weights(labels, 3), doctest::Contains("class 2 has no sample"), hemo::Error);
  CHECK_THROWS_AS(class_counts(std::vector<int64_t>{0, 5}, 2), hemo::Error);
}

TEST_CASE("weighted sampling with 1/class-count weights balances classes") {
  std::vector<int64_t> labels(100, 0);
  std::fill(labels.begin() + 90, labels.end(), 1);
  const auto w = inverse_frequency_weights(labels, 2);
  const auto idx = weighted_indices(w, 40000, 3, 0);
  CHECK(idx == weighted_indices(w, 40000, 3, 0));
  CHECK(idx != weighted_indices(w, 40000, 3, 1));
  int64_t minority = 0;
  for (int64_t i : idx) minority += labels[static_cast<size_t>(i)];
  CHECK(minority > 19400);  // expectation 20000, sd 100
  CHECK(minority < 20600);
  // Zero weights are never drawn; proportions follow the weights.
  const std::vector<double> w3 = {0, 1, 3};
  const auto d = weighted_indices(w3, 40000, 1, 0);
  CHECK(std::count(d.begin(), d.end(), 0) == 0);
  const auto twos = std::count(d.begin(), d.end(), 2);
  CHECK(twos > 29600);  // 0.75 * 40000 = 30000, sd ~87
  CHECK(twos < 30400);
  CHECK_THROWS_WITH_AS(weighted_indices(std::vector<double>{0, 0}, 5, 1, 0), doctest::Contains("all weights are zero"), hemo::Error);
  CHECK_THROWS_AS(weighted_indices(std::vector<double>{1, -1}, 5, 1, 0), hemo::Error);
}
