// How kernels/cuda/conv_cudnn.cpp picks a cuDNN convolution algorithm from cuDNN's candidates,
// written without cuDNN's types so that the CPU build tests it (tests/unit/conv_algo_test.cpp).
//
// The candidates come in cuDNN's order: the heuristics' ranking (cudnnGet*Algorithm_v7, untimed),
// or, in a timed search (cudnnFind*AlgorithmEx: each algorithm run once on the call's own buffers
// and timed), fastest first. The choice is the first candidate that
//   - cuDNN reports as runnable (status SUCCESS),
//   - is deterministic, when any candidate qualifying otherwise is (a second pass takes the rest),
//   - uses no tensor cores unless they are allowed (TF32 on for float32, or bf16),
//   - has not answered NOT_SUPPORTED when run (`rejected`),
//   - needs a workspace within `limit` (asked through workspace(i, &bytes), which may fail).
// The search mode is HEMO_CUDNN_SEARCH in the environment: "timed" (the default; once per shape,
// direction, element type and TF32 switch, cached for the process) or "heuristic".
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace hemo::cuda {

struct AlgoCandidate {
  int algo = 0;
  bool runs = true;  // cuDNN's status for it was CUDNN_STATUS_SUCCESS
  bool deterministic = false;
  bool tensor_op = false;  // its math uses tensor cores
  float ms = -1;           // a timed search's measured time; -1 from the heuristics
};

struct AlgoPick {
  int index = -1;  // into the candidates; -1: none qualifies
  size_t workspace = 0;
};

// workspace(i, &bytes): false when cuDNN cannot say (the candidate is skipped).
template <class WorkspaceFn>
AlgoPick pick_algorithm(const std::vector<AlgoCandidate>& candidates, bool tensor_cores,
                        const std::vector<int>& rejected, size_t limit, WorkspaceFn workspace) {
  for (int deterministic_only = 1; deterministic_only >= 0; --deterministic_only) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const AlgoCandidate& c = candidates[i];
      if (!c.runs || (deterministic_only && !c.deterministic) || (!tensor_cores && c.tensor_op)) continue;
      if (std::find(rejected.begin(), rejected.end(), c.algo) != rejected.end()) continue;
      size_t bytes = 0;
      if (!workspace(i, &bytes) || bytes > limit) continue;
      return {static_cast<int>(i), bytes};
    }
  }
  return {};
}

enum class AlgoSearch { heuristic, timed };

// HEMO_CUDNN_SEARCH: unset, empty or "timed", or "heuristic"; anything else is an Error naming it.
inline AlgoSearch algo_search() {
  const char* v = std::getenv("HEMO_CUDNN_SEARCH");
  if (!v || !*v || std::strcmp(v, "timed") == 0) return AlgoSearch::timed;
  HEMO_CHECK(std::strcmp(v, "heuristic") == 0, "HEMO_CUDNN_SEARCH=", v, ": expected timed or heuristic");
  return AlgoSearch::heuristic;
}

}  // namespace hemo::cuda
