// `hemo bench train`: steady-state training steps on a synthetic batch held on the device.
//   hemo bench train --model resnet18 --input-size 128 --batch-size 32 [--device cpu|cuda]
//                    [--precision fp32] [--threads 2] [--warmup 2] [--steps 5] [--json]
// A step is what the trainer's train_step does (tools/bench_step.h: forward, cross-entropy,
// zero_grad, backward, the step meter (--sync-every-step: read within the step), SGD with momentum
// 0.9), then a device synchronize. After --warmup untimed steps, --steps
// timed ones give the median and spread of ms per step, images/s (batch / median), and the peak
// memory (host RSS; on CUDA the caching allocator's bytes in use and reserved).
// With --distributed, under mpirun (`mpirun -np 2 hemo bench train --distributed ...`), every
// rank alternates the step alone and the step with its gradients averaged over the ranks
// (train/grad_reduce.h, as `hemo train --distributed`), so both see the same load; rank 0
// reports both, the global images/s, and the scaling efficiency: the step alone over the
// distributed step (1.0: the all-reduce costs nothing; weak scaling, the batch is per rank).
#include "tools/command.h"

#include <memory>
#include <utility>

#include "nn/fusion.h"
#include "tools/bench_step.h"
#include "train/comm.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/conv_cudnn.h"
#endif

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

nlohmann::json run_bench_train(ModelCase c) {
  const Device device = prepare(c);
  BenchStep step(c, device, StepMode::train);
  // The convolutions whose batch norm took its statistics from cuDNN's graph (nn/fusion.h), counted
  // in the first step, which runs eagerly also under --cuda-graphs (a replay runs no host code).
  uint64_t summed = 0;
  auto run = [&step, &summed, first = true]() mutable {
    const uint64_t before = nn::summed_convolutions();
    step.run();
    if (std::exchange(first, false)) summed = nn::summed_convolutions() - before;
  };
  for (int i = 0; i < c.warmup; ++i) run();
  reset_peak_memory(device);
  std::vector<double> times;
  for (int i = 0; i < c.steps; ++i) {
    const double t0 = now();
    run();
    times.push_back(now() - t0);
  }
  const Stats s = summarize(times);
  nlohmann::json r = {{"command", "bench train"},
                      {"env", environment(device, c.precision)},
                      {"case", case_json(c)},
                      {"step", ms_json(s)},
                      {"images_per_s", static_cast<double>(c.batch_size) / s.median},
                      {"last_loss", step.last_loss()},
                      {"memory", memory_json(device)},
                      {"summed_convolutions_per_step", summed}};
#if HEMO_WITH_CUDA
  if (device.is_cuda()) {  // the statistics graphs cuDNN planned or refused (kernels/cuda/conv_cudnn.h)
    const cuda::CudnnFusionStats f = cuda::cudnn_fusion_stats();
    r["cudnn_fusion"] = {{"planned", f.planned}, {"refused", f.refused}, {"first_refusal", f.first_refusal}};
  }
#endif
  return r;
}

// The mean over the ranks of each rank's median.
double mean_over_ranks(train::Communicator& comm, double v) {
  double x[1] = {v};
  comm.allreduce_sum(std::span<double>(x, 1), "bench train: medians");
  return x[0] / comm.size();
}

nlohmann::json run_bench_train_distributed(ModelCase c) {
  const Device device = prepare(c);
  const std::shared_ptr<train::Communicator> comm = train::make_communicator({.distributed = true});
  BenchStep step(c, device, StepMode::train);
  std::unique_ptr<train::DeviceCollectives> collectives = device.is_cuda() ? train::make_nccl_collectives(comm) : nullptr;
  const std::string all_reduce = collectives ? collectives->name() : comm->backend();
  train::GradReducer reducer(comm, step.model().parameters(), std::move(collectives), train::bucket_bytes_from_env());
  std::vector<double> alone, together;
  for (int i = 0; i < c.warmup + c.steps; ++i) {
    step.set_reducer(nullptr);
    double t0 = now();
    step.run();
    const double t_alone = now() - t0;
    step.set_reducer(&reducer);
    t0 = now();
    step.run();
    const double t_together = now() - t0;
    if (i < c.warmup) continue;
    alone.push_back(t_alone);
    together.push_back(t_together);
  }
  const Stats a = summarize(alone), t = summarize(together);
  const double alone_s = mean_over_ranks(*comm, a.median), together_s = mean_over_ranks(*comm, t.median);
  const int ranks = comm->size();
  return {{"command", "bench train --distributed"},
          {"env", environment(device, c.precision)},
          {"case", case_json(c)},
          {"ranks", ranks},
          {"rank", comm->rank()},
          {"step_alone", ms_json(a)},
          {"step_distributed", ms_json(t)},
          {"buckets", reducer.num_buckets()},
          {"all_reduce", all_reduce},
          {"images_per_s", static_cast<double>(ranks * c.batch_size) / together_s},
          {"scaling_efficiency", alone_s / together_s},
          {"memory", memory_json(device)}};
}

void add_bench_train_command(CLI::App& bench) {
  auto c = std::make_shared<ModelCase>();
  auto distributed = std::make_shared<bool>(false);
  CLI::App* cmd = bench.add_subcommand("train", "Time steady-state training steps on a synthetic batch");
  add_model_case_options(cmd, *c);
  cmd->add_flag("--distributed", *distributed,
                "Under mpirun: each step alone and with the gradient all-reduce; the scaling efficiency");
  cmd->callback([c, distributed] {
    if (*distributed) {
      const nlohmann::json r = run_bench_train_distributed(*c);
      if (r["rank"] != 0) return;  // rank 0 reports for all
      emit(r, format("train %s batch %lld per rank x %d ranks: %.2f ms/step alone, %.2f ms with the all-reduce "
                     "(%zu buckets, %s): %.1f images/s, scaling efficiency %.0f%%\n",
                     c->model.c_str(), static_cast<long long>(c->batch_size), r["ranks"].get<int>(),
                     r["step_alone"]["median_ms"].get<double>(), r["step_distributed"]["median_ms"].get<double>(),
                     r["buckets"].get<size_t>(), r["all_reduce"].get<std::string>().c_str(), r["images_per_s"].get<double>(),
                     100 * r["scaling_efficiency"].get<double>()),
           c->json);
      return;
    }
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
