// The timing and reporting harness of `hemo bench op`: one op's forward and backward, timed, with
// achieved GB/s and GFLOP/s and their share of the machine's measured peak (tools/bench_peak.h).
//
// An OpBench is a callable plus its counts; bench_op_cases.cpp makes them from the op-case
// registry's entries (opcases/registry.h), so every op of kernels/ is reachable. `forward` builds the op's output
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
  bool has_backward = true;  // false for a forward-only op (Grad-CAM's steps, conv2d_fused)
};

OpTiming time_op(OpBench& op, Device device, int warmup, int steps);

// {"op", "shape", "fusion" (nn::fusion_enabled(): --no-fusion turns it off),
//  "forward": {ms.., "gb_per_s", "gflop_per_s", "pct_peak_bw", "pct_peak_flops"}, "backward": {...}}
// with "backward": null for an op whose output records no gradient (it has no backward).
nlohmann::json op_json(const OpBench& op, const OpTiming& t, const MachinePeak& peak);
std::string op_table_row(const nlohmann::json& row);

// The registry's cases for `name` (bench_op_cases.cpp): a case name ("conv2d.3x3.stride2"), an op
// (its kernel header, "conv2d": every case of it), or "all"; each at its bench shapes, or at
// `shape` ("2x8x12x12;8x8x3x3;8": one shape per input) when it names a single case. An unknown name
// is an Error listing the ops. With channels_last, every 4-d input is stored channels-last
// (tensor/tensor.h) and the case's name gets a " (NHWC)" suffix.
std::vector<OpBench> make_op_cases(const std::string& name, const std::string& shape, Device device,
                                   bool channels_last = false);
// Every case with a bench shape, one per line: "name  shapes".
std::string op_case_list();

}  // namespace hemo::cli::bench
