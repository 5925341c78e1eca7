// The cuDNN algorithm choice (kernels/cuda/conv_algo.h) on made-up candidate lists: the order
// given (timed: fastest first) is kept, deterministic candidates come first, tensor-core ones
// only when allowed, rejected and unsupported ones never, a workspace over the limit or one cuDNN
// cannot size is passed over, and no qualifying candidate is -1.
#include "kernels/cuda/conv_algo.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <map>

using namespace hemo::cuda;

namespace {
// Workspaces by algorithm; an algorithm missing from the map cannot be sized.
auto sizes(std::map<int, size_t> bytes) {
  return [bytes](const std::vector<AlgoCandidate>& c) {
    return [&c, bytes](size_t i, size_t* out) {
      auto it = bytes.find(c[i].algo);
      if (it == bytes.end()) return false;
      *out = it->second;
      return true;
    };
  };
}
}  // namespace

TEST_CASE("conv algorithm choice: order, determinism, tensor cores, rejections, workspace") {
  // Timed: fastest first. Algorithm 7 is fastest but not deterministic, 3 needs tensor cores.
  const std::vector<AlgoCandidate> timed = {{7, true, false, false, 0.1f},
                                            {3, true, true, true, 0.2f},
                                            {5, true, true, false, 0.3f},
                                            {1, true, true, false, 0.4f},
                                            {2, false, true, false, -1}};
  const auto ws = sizes({{7, 0}, {3, 100}, {5, 4096}, {1, 10}, {2, 0}})(timed);
  CHECK(pick_algorithm(timed, true, {}, 1 << 20, ws).index == 1);   // 3: the fastest deterministic one
  CHECK(pick_algorithm(timed, false, {}, 1 << 20, ws).index == 2);  // no tensor cores: 5
  const AlgoPick small = pick_algorithm(timed, false, {}, 1000, ws);  // 5's 4096 bytes are over the limit: 1
  CHECK(small.index == 3);
  CHECK(small.workspace == 10);
  CHECK(pick_algorithm(timed, false, {5, 1}, 1 << 20, ws).index == 0);  // only the non-deterministic 7 is left
  CHECK(pick_algorithm(timed, false, {5, 1, 7}, 1 << 20, ws).index == -1);  // 2 does not run: nothing
  // A candidate whose workspace cuDNN cannot say is passed over.
  const auto unsized = sizes({{7, 0}, {1, 10}})(timed);
  CHECK(pick_algorithm(timed, true, {}, 1 << 20, unsized).index == 3);
  CHECK(pick_algorithm(std::vector<AlgoCandidate>{}, true, {}, 1 << 20, ws).index == -1);
}

TEST_CASE("conv algorithm search mode: HEMO_CUDNN_SEARCH") {
  unsetenv("HEMO_CUDNN_SEARCH");
  CHECK(algo_search() == AlgoSearch::timed);
  setenv("HEMO_CUDNN_SEARCH", "heuristic", 1);
  CHECK(algo_search() == AlgoSearch::heuristic);
  setenv("HEMO_CUDNN_SEARCH", "fast", 1);
  CHECK_THROWS_WITH_AS(algo_search(), doctest::Contains("HEMO_CUDNN_SEARCH=fast: expected timed or heuristic"),
                       hemo::Error);
  unsetenv("HEMO_CUDNN_SEARCH");
}
