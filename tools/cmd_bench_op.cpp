// `hemo bench op`: one op's forward and backward on the device: time (median of --steps), achieved
// GB/s and GFLOP/s, and their share of this machine's peaks, which it measures first
// (tools/bench_peak.h).
//   hemo bench op conv2d [--device cpu] [--threads 2] [--json]   every conv2d case at its bench shapes
//   hemo bench op conv2d.3x3 --shape 8x64x56x56;64x64x3x3;64      one case at given shapes
//   hemo bench op all | --list                                      every case / their names and shapes
// The cases and their counts are the op-case registry's (opcases/registry.h, tools/bench_op.h).
#include "tools/command.h"

#include <omp.h>

#include <iostream>
#include <memory>

#include "nn/fusion.h"
#include "tools/bench_op.h"

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

struct OpOptions {
  std::string op, shape;
  DeviceChoice device = DeviceChoice::cpu;
  int threads = 0, warmup = 2, steps = 7;
  bool json = false, list = false, channels_last = false, fusion = true;
};

void add_bench_op_command(CLI::App& bench) {
  auto o = std::make_shared<OpOptions>();
  CLI::App* cmd = bench.add_subcommand("op", "Time one op's forward and backward; GB/s, GFLOP/s, % of peak");
  cmd->add_option("name", o->op, "An op (its kernels/ header: conv2d, batchnorm, ...), a case name, or 'all'");
  cmd->add_option("--shape", o->shape, "One case's input shapes, e.g. 8x64x56x56;64x64x3x3;64 (default: its bench shapes)");
  cmd->add_flag("--list", o->list, "List every case and its bench shapes");
  cli::add_device_option(cmd, o->device);
  cmd->add_option("--threads", o->threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::Range(0, 1024));
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed runs")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of a table");
  cmd->add_flag("--channels-last", o->channels_last,
                "Store the 4-d inputs channels-last (NHWC) instead of contiguous NCHW (ops without an NHWC kernel "
                "convert around themselves)");
  cmd->add_flag_callback(
      "--no-fusion", [o] { o->fusion = false; },
      "Turn off the specialized paths, to compare: the generic depthwise kernels instead of the specialized "
      "3x3/5x5 ones, CPU and CUDA (batch norm + ReLU fused or not are separate op cases)");
  cmd->callback([o] {
    if (o->list) {
      std::cout << op_case_list();
      return;
    }
    HEMO_CHECK(!o->op.empty(), "bench op: name an op, a case or 'all' (`hemo bench op --list` shows the cases)");
    if (o->threads > 0) omp_set_num_threads(o->threads);
    nn::set_fusion_enabled(o->fusion);
    const Device device = resolve(o->device);
    std::vector<OpBench> ops = make_op_cases(o->op, o->shape, device, o->channels_last);  // bad names fail first
    const MachinePeak peak = measure_peak(device);
    nlohmann::json rows = nlohmann::json::array();
    std::string table = format("peak: %.1f GB/s (%s), %.1f GFLOP/s (%s)\n", peak.bytes_per_s * 1e-9,
                               peak.bandwidth_source.c_str(), peak.flops * 1e-9, peak.compute_source.c_str());
    for (OpBench& op : ops) {
      rows.push_back(op_json(op, time_op(op, device, o->warmup, o->steps), peak));
      table += op_table_row(rows.back());
    }
    emit({{"command", "bench op"}, {"env", environment(device, Precision::fp32)}, {"peak", peak_json(peak)}, {"ops", rows}},
         table, o->json);
  });
}

}  // namespace
HEMO_COMMAND("bench", 3, add_bench_op_command);
