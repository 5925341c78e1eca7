// `hemo bench op`: one op's forward and backward on the device: time (median of --steps), achieved
// GB/s and GFLOP/s, and their share of this machine's peaks, which it measures first
// (tools/bench_peak.h).
//   hemo bench op conv2d [--shape 8,64,56,56,64,3] [--device cpu] [--threads 2] [--json]
//   hemo bench op all                  every op of the table at its typical shape
// The ops and their counts come from tools/bench_op.h's table (the op-case registry later).
#include "tools/command.h"

#include <omp.h>

#include <memory>

#include "tools/bench_op.h"

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

struct OpOptions {
  std::string op, shape;
  DeviceChoice device = DeviceChoice::cpu;
  int threads = 0, warmup = 2, steps = 7;
  bool json = false;
};

void add_bench_op_command(CLI::App& bench) {
  auto o = std::make_shared<OpOptions>();
  CLI::App* cmd = bench.add_subcommand("op", "Time one op's forward and backward; GB/s, GFLOP/s, % of peak");
  cmd->add_option("name", o->op, "The op, or 'all'")->required();
  cmd->add_option("--shape", o->shape, "Comma-separated sizes: " + op_case_help());
  cli::add_device_option(cmd, o->device);
  cmd->add_option("--threads", o->threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::Range(0, 1024));
  cmd->add_option("--warmup", o->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed runs")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of a table");
  cmd->callback([o] {
    if (o->threads > 0) omp_set_num_threads(o->threads);
    const Device device = resolve(o->device);
    const std::vector<std::string> names = o->op == "all" ? op_case_names() : std::vector<std::string>{o->op};
    HEMO_CHECK(o->op != "all" || o->shape.empty(), "bench op all: --shape needs a single op");
    std::vector<OpBench> ops;
    for (const std::string& n : names) ops.push_back(make_op_case(n, o->shape, device));  // bad names fail first
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
