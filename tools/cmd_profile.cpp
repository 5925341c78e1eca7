// `hemo profile`: where a training step's (or an inference's) time goes, layer by layer.
//   hemo profile --model resnet18 --input-size 128 --batch-size 32 [--mode train|infer|folded]
//                [--device cpu|cuda] [--threads 2] [--warmup 1] [--steps 3] [--trace out.json] [--json]
// After --warmup unprofiled steps, --steps steps run under the profiler (tools/profiler.h). Each
// row is a module path (or a step region: loss, zero_grad, backward = the autograd engine's own
// time, meter = the step's loss/accuracy/norm bookkeeping, optimizer), its type, its first call's
// shapes, its own forward and backward time per step, its share of the measured step and its
// forward GB/s (input + output + parameters over the forward time). The rows partition the step: their sum is printed beside the step time
// measured around the whole step. A table by op type follows. --trace writes the Chrome trace.
#include "tools/command.h"

#include <algorithm>
#include <map>
#include <memory>

#include "core/output_file.h"
#include "tools/profiler.h"

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

struct ProfileOptions {
  ModelCase c;
  std::string mode = "train", trace;
};

nlohmann::json run_profile(ProfileOptions o) {
  const Device device = prepare(o.c);
  const StepMode mode = o.mode == "train"   ? StepMode::train
                        : o.mode == "infer" ? StepMode::infer
                                            : StepMode::folded;
  BenchStep step(o.c, device, mode);
  for (int i = 0; i < o.c.warmup; ++i) step.run();
  Profiler profiler(step.model(), device);
  std::vector<double> times;
  {
    Profiler::Attach attach(profiler);
    for (int i = 0; i < o.c.steps; ++i) {
      const double t0 = now();
      step.run(&profiler);
      times.push_back(now() - t0);
      profiler.finish_step();
    }
  }
  double step_s = 0;
  for (double t : times) step_s += t / static_cast<double>(times.size());
  const double n = static_cast<double>(profiler.steps());
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, double> by_op;
  double sum = 0;
  for (const ProfileRow& r : profiler.rows()) {
    const double f = r.fwd_s / n, b = r.bwd_s / n;
    if (f + b <= 0) continue;
    sum += f + b;
    by_op[r.op] += f + b;
    rows.push_back({{"path", r.path}, {"op", r.op}, {"shapes", r.shapes}, {"fwd_ms", 1e3 * f}, {"bwd_ms", 1e3 * b},
                    {"pct_step", 100 * (f + b) / step_s}, {"calls_per_step", static_cast<double>(r.calls) / n},
                    {"fwd_gb_per_s", f > 0 ? r.fwd_bytes * static_cast<double>(r.calls) / n / f * 1e-9 : 0.0}});
  }
  nlohmann::json ops = nlohmann::json::array();
  for (const auto& [op, s] : by_op) ops.push_back({{"op", op}, {"ms", 1e3 * s}, {"pct_step", 100 * s / step_s}});
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a["ms"] > b["ms"]; });
  if (!o.trace.empty()) {
    write_file_atomically(o.trace, profiler.chrome_trace().dump());
  }
  nlohmann::json c = case_json(o.c);
  c["mode"] = o.mode;
  return {{"command", "profile"}, {"env", environment(device, o.c.precision)}, {"case", c},
          {"steps", profiler.steps()}, {"step_ms", 1e3 * step_s}, {"rows_sum_ms", 1e3 * sum},
          {"rows", rows}, {"by_op", ops}};
}

std::string profile_table(const nlohmann::json& r) {
  const nlohmann::json& c = r["case"];
  std::string t = format("profile %s %lldx%lld batch %lld, %s, %lld steps: step %.2f ms, rows sum %.2f ms (%.1f%%)\n",
                         c["model"].get<std::string>().c_str(), c["input_size"].get<long long>(),
                         c["input_size"].get<long long>(), c["batch_size"].get<long long>(),
                         c["mode"].get<std::string>().c_str(), r["steps"].get<long long>(), r["step_ms"].get<double>(),
                         r["rows_sum_ms"].get<double>(), 100 * r["rows_sum_ms"].get<double>() / r["step_ms"].get<double>());
  t += format("%-34s %-18s %-40s %9s %9s %6s %7s\n", "module", "op", "shapes", "fwd ms", "bwd ms", "%step", "GB/s");
  for (const nlohmann::json& row : r["rows"])
    t += format("%-34s %-18s %-40s %9.3f %9.3f %6.1f %7.1f\n", row["path"].get<std::string>().c_str(),
                row["op"].get<std::string>().c_str(), row["shapes"].get<std::string>().c_str(),
                row["fwd_ms"].get<double>(), row["bwd_ms"].get<double>(), row["pct_step"].get<double>(),
                row["fwd_gb_per_s"].get<double>());
  t += "by op:\n";
  for (const nlohmann::json& op : r["by_op"])
    t += format("  %-20s %9.3f ms %6.1f%%\n", op["op"].get<std::string>().c_str(), op["ms"].get<double>(),
                op["pct_step"].get<double>());
  return t;
}

void add_profile_command(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  o->c.warmup = 1;
  o->c.steps = 3;
  CLI::App* cmd = app.add_subcommand("profile", "Per-layer forward and backward times of a training step or inference");
  add_model_case_options(cmd, o->c);
  cmd->add_option("--mode", o->mode,
                  "train (forward, loss, backward, optimizer), infer (forward, eval mode) or folded (forward "
                  "of the model hemo-infer runs: batch norms folded)")
      ->check(CLI::IsMember({"train", "infer", "folded"}))
      ->capture_default_str();
  cmd->add_option("--trace", o->trace, "Write a Chrome trace (traceEvents JSON) of the profiled steps here");
  cmd->callback([o] {
    const nlohmann::json r = run_profile(*o);
    emit(r, profile_table(r), o->c.json);
  });
}

}  // namespace
HEMO_COMMAND("", 63, add_profile_command);
