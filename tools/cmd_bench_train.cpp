// `hemo bench train`: steady-state training steps on a synthetic batch held on the device.
//   hemo bench train --model resnet18 --input-size 128 --batch-size 32 [--device cpu|cuda]
//                    [--precision fp32] [--threads 2] [--warmup 2] [--steps 5] [--json]
// A step is what the trainer's train_step does (tools/bench_step.h: forward, cross-entropy,
// zero_grad, backward, SGD with momentum 0.9), then a device synchronize. After --warmup untimed steps, --steps
// timed ones give the median and spread of ms per step, images/s (batch / median), and the peak
// memory (host RSS; on CUDA the caching allocator's bytes in use and reserved).
#include "tools/command.h"

#include <memory>

#include "tools/bench_step.h"

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

nlohmann::json run_bench_train(ModelCase c) {
  const Device device = prepare(c);
  BenchStep step(c, device, StepMode::train);
  for (int i = 0; i < c.warmup; ++i) step.run();
  reset_peak_memory(device);
  std::vector<double> times;
  for (int i = 0; i < c.steps; ++i) {
    const double t0 = now();
    step.run();
    times.push_back(now() - t0);
  }
  const Stats s = summarize(times);
  nlohmann::json r = {{"command", "bench train"},
                      {"env", environment(device, c.precision)},
                      {"case", case_json(c)},
                      {"step", ms_json(s)},
                      {"images_per_s", static_cast<double>(c.batch_size) / s.median},
                      {"last_loss", step.last_loss()},
                      {"memory", memory_json(device)}};
  return r;
}

void add_bench_train_command(CLI::App& bench) {
  auto c = std::make_shared<ModelCase>();
  CLI::App* cmd = bench.add_subcommand("train", "Time steady-state training steps on a synthetic batch");
  add_model_case_options(cmd, *c);
  cmd->callback([c] {
    const nlohmann::json r = run_bench_train(*c);
    const nlohmann::json& st = r["step"];
    const std::string table = format(
        "train %s %lldx%lld batch %lld: %.2f ms/step (median of %lld; min %.2f, max %.2f, spread %.0f%%), "
        "%.1f images/s, host peak RSS %.0f MiB\n",
        c->model.c_str(), static_cast<long long>(c->input_size), static_cast<long long>(c->input_size),
        static_cast<long long>(c->batch_size), st["median_ms"].get<double>(), st["n"].get<long long>(),
        st["min_ms"].get<double>(), st["max_ms"].get<double>(), 100 * st["spread"].get<double>(),
        r["images_per_s"].get<double>(), r["memory"]["host_peak_rss_bytes"].get<double>() / 1048576.0);
    emit(r, table, c->json);
  });
}

}  // namespace
HEMO_COMMAND("bench", 1, add_bench_train_command);
