// `hemo bench infer`: inference latency at batch 1 (p50, p99) and throughput at --batch-size, for
// the two ways hemo runs a model file:
//   hemo        models::build_model(Prepare::eval) under a NoGradGuard, as `hemo predict` and
//               `hemo eval` run it (batch norms as trained);
//   hemo-infer  infer::load_inference_model (api/inference_model.h), the deploy binary's own
//               code path: batch norms folded into the convolutions, dropouts removed.
//   hemo bench infer --model mobilenet_v2 --input-size 224 [--batch-size 32] [--device cpu]
//                    [--threads 2] [--warmup 2] [--steps 5] [--json]
// The freshly initialized model is written to a temporary model file first, so both paths start
// from a file, as they do in use. Batch 1 is timed 4 x --steps times (p99 needs samples).
#include "tools/command.h"

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "models/model_file.h"
#include "nn/fusion.h"
#include "tensor/autograd.h"
#include "tools/bench_common.h"
#include "api/inference_model.h"
#include "train/checkpoint.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/conv_cudnn.h"
#endif

namespace {

using namespace hemo;
using namespace hemo::cli::bench;

Stats time_forward(nn::Module& model, const Tensor& x, Device device, int warmup, int steps) {
  NoGradGuard no_grad;
  std::vector<double> times;
  for (int i = 0; i < warmup + steps; ++i) {
    const double t0 = now();
    const Tensor y = model(x);
    synchronize(device);
    if (i >= warmup) times.push_back(now() - t0);
  }
  return summarize(times);
}

nlohmann::json time_path(nn::Module& model, const ModelCase& c, Device device) {
  const Tensor one = synthetic_images(1, c.input_size, device), batch = synthetic_images(c.batch_size, c.input_size, device);
  const uint64_t fused_before = nn::fused_convolutions();
  const Stats latency = time_forward(model, one, device, c.warmup, 4 * c.steps);
  const int forwards = c.warmup + 4 * c.steps;
  const uint64_t fused = (nn::fused_convolutions() - fused_before) / static_cast<uint64_t>(forwards);
  const Stats throughput = time_forward(model, batch, device, c.warmup, c.steps);
  return {{"batch1_latency", ms_json(latency)},
          {"batchN", ms_json(throughput)},
          {"batchN_images_per_s", static_cast<double>(c.batch_size) / throughput.median},
          {"fused_convolutions_per_forward", fused}};
}

nlohmann::json run_bench_infer(ModelCase c) {
  const Device device = prepare(c);
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / cat("hemo-bench-infer-", getpid(), ".safetensors");
  {
    weights::ModelMeta meta;
    meta.architecture = c.model;
    meta.num_classes = c.num_classes;
    for (int64_t i = 0; i < c.num_classes; ++i) meta.class_names.push_back(cat("class", i));
    meta.input_size = c.input_size;
    train::save_checkpoint(file.string(), *make_model(c, Device::cpu()), meta);
  }
  nlohmann::json paths;
  try {
    nn::ModulePtr eval = models::build_model(models::read_model_file(file.string()), device).module;
    paths["hemo"] = time_path(*eval, c, device);
    eval.reset();
    infer::InferenceModel deploy = infer::load_inference_model(file.string(), device);
    paths["hemo-infer"] = time_path(*deploy.module, c, device);
    paths["hemo-infer"]["batchnorms_folded"] = deploy.report.batchnorms_folded;
  } catch (...) {
    std::filesystem::remove(file);
    throw;
  }
  std::filesystem::remove(file);
  nlohmann::json out = {{"command", "bench infer"},  {"env", environment(device, c.precision)}, {"case", case_json(c)},
                        {"paths", paths},            {"memory", memory_json(device)}};
#if HEMO_WITH_CUDA
  if (device.is_cuda()) {  // which convolutions cuDNN fused with their epilogue (kernels/cuda/conv_cudnn.h)
    const cuda::CudnnFusionStats s = cuda::cudnn_fusion_stats();
    out["cudnn_fusion"] = {{"planned", s.planned}, {"refused", s.refused}, {"first_refusal", s.first_refusal}};
  }
#endif
  return out;
}

void add_bench_infer_command(CLI::App& bench) {
  auto c = std::make_shared<ModelCase>();
  CLI::App* cmd = bench.add_subcommand("infer", "Time inference: batch-1 latency and batch-N throughput");
  add_model_case_options(cmd, *c);
  cmd->callback([c] {
    const nlohmann::json r = run_bench_infer(*c);
    std::string table = format("infer %s %lldx%lld          batch 1 p50    p99     | batch %lld ms   images/s\n",
                               c->model.c_str(), static_cast<long long>(c->input_size),
                               static_cast<long long>(c->input_size), static_cast<long long>(c->batch_size));
    for (const char* path : {"hemo", "hemo-infer"}) {
      const nlohmann::json& p = r["paths"][path];
      table += format("  %-28s %8.2f %8.2f ms | %8.2f ms %9.1f\n", path,
                      p["batch1_latency"]["median_ms"].get<double>(), p["batch1_latency"]["p99_ms"].get<double>(),
                      p["batchN"]["median_ms"].get<double>(), p["batchN_images_per_s"].get<double>());
    }
    emit(r, table, c->json);
  });
}

}  // namespace
HEMO_COMMAND("bench", 2, add_bench_infer_command);
