// The timing and reporting harness of `hemo bench op`: one op's forward and backward, timed, with
// achieved GB/s and GFLOP/s and their share of the machine's measured peak (tools/bench_peak.h).
//
// An OpBench is a callable plus its counts, which is what the op-case registry (opcases/) will
// provide; until it is merged, bench_op_cases.cpp holds a small table (conv2d, depthwise_conv2d,
// batchnorm, linear) that the merger replaces with the registry. `forward` builds the op's output
// from `inputs` (tensors on the device; those that require grad get gradients); the backward
// timed is `y.backward(g)` for a fixed random g, with every input's gradient zeroed first.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "tools/bench_common.h"
#include "tools/bench_peak.h"

namespace hemo::cli::bench {

struct OpBench {
  std::string name, shape;  // shape: the case's shapes, as text for the table
  std::vector<Tensor> inputs;
  std::function<Tensor(std::vector<Tensor>&)> forward;
  double flops_fwd = 0, flops_bwd = 0, bytes_fwd = 0, bytes_bwd = 0;  // per call
};

struct OpTiming {
  Stats fwd, bwd;
};

OpTiming time_op(OpBench& op, Device device, int warmup, int steps);

// {"op", "shape", "forward": {ms.., "gb_per_s", "gflop_per_s", "pct_peak_bw", "pct_peak_flops"},
//  "backward": {...}}
nlohmann::json op_json(const OpBench& op, const OpTiming& t, const MachinePeak& peak);
std::string op_table_row(const nlohmann::json& row);

// The temporary table (bench_op_cases.cpp). `shape` is the op's comma-separated integers (see
// op_case_help()), empty for its typical shape. Throws hemo::Error naming the known ops.
OpBench make_op_case(const std::string& name, const std::string& shape, Device device);
std::vector<std::string> op_case_names();
std::string op_case_help();

}  // namespace hemo::cli::bench
