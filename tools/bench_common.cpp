#include "tools/bench_common.h"

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "hemo/version.h"
#include "models/registry.h"
#include "core/error.h"
#include "nn/fusion.h"
#include "kernels/precision.h"
#include "tensor/rng.h"
#include "tools/command.h"
#if HEMO_WITH_CUDA
#include "core/cuda/stream.h"
#include "core/cuda_memory.h"
#endif

namespace hemo::cli::bench {

Stats summarize(std::vector<double> seconds) {
  HEMO_CHECK(!seconds.empty(), "bench: no timings to summarize");
  std::sort(seconds.begin(), seconds.end());
  Stats s;
  s.n = static_cast<int64_t>(seconds.size());
  s.median = seconds[seconds.size() / 2];
  s.min = seconds.front();
  s.max = seconds.back();
  const size_t rank = static_cast<size_t>(0.99 * static_cast<double>(seconds.size()) + 0.999999);
  s.p99 = seconds[std::clamp<size_t>(rank, 1, seconds.size()) - 1];
  s.spread = s.median > 0 ? (s.max - s.min) / s.median : 0;
  return s;
}

nlohmann::json ms_json(const Stats& s) {
  return {{"median_ms", s.median * 1e3}, {"min_ms", s.min * 1e3}, {"max_ms", s.max * 1e3},
          {"p99_ms", s.p99 * 1e3},       {"spread", s.spread},    {"n", s.n}};
}

void add_model_case_options(CLI::App* cmd, ModelCase& c) {
  cmd->add_option("--model", c.model, "Architecture (hemo info lists them)")->capture_default_str();
  cmd->add_option("--input-size", c.input_size, "Side of the square input (0: the model's default)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "Images per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--classes", c.num_classes, "Classes of the head")->check(CLI::Range(2, 100000))->capture_default_str();
  add_device_option(cmd, c.device);
  add_choice_option(cmd, "--precision", c.precision,
                    "fp32, tf32 (CUDA tensor cores; fp32 on the CPU) or bf16 (bf16 products, float32 sums)");
  cmd->add_option("--threads", c.threads, "OpenMP threads (0: OpenMP's default)")->check(CLI::Range(0, 1024));
  cmd->add_option("--warmup", c.warmup, "Untimed steps first")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--steps", c.steps, "Timed steps")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_flag("--json", c.json, "Print one JSON object instead of a table");
  cmd->add_flag_callback(
      "--no-memory-efficient", [&c] { c.memory_efficient = false; },
      "DenseNet: keep each layer's concatenation for backward instead of recomputing it (faster, more memory)");
  cmd->add_flag_callback(
      "--no-fusion", [&c] { c.fusion = false; },
      "Turn off every fused or specialized path, to compare: batch norm, a ResNet block's shortcut add and the "
      "ReLU/ReLU6 after it as separate ops; in bench infer, each convolution apart from the batch norm, add and "
      "activation after it (fused: one op, on CUDA one cuDNN graph where an engine takes it); in bench train on "
      "CUDA, the batch norm's own statistics passes instead of the convolution's sums; and the generic "
      "depthwise kernels instead of the specialized 3x3/5x5 ones (CPU and CUDA)");
  cmd->add_flag("--channels-last", c.channels_last,
                "Store the input batch channels-last (NHWC); the convolutions, batch norm and elementwise ops keep "
                "that format (to compare with contiguous NCHW)");
  cmd->add_flag_callback(
      "--no-multi-tensor", [&c] { c.multi_tensor = false; },
      "bench train: one optimizer update per parameter instead of one for all (to compare)");
  cmd->add_flag("--sync-every-step", c.sync_every_step,
                "bench train: wait for the device within each step to read its loss and gradient norm, as `hemo "
                "train --sync-every-step` does (by default they stay on the device; to compare)");
  cmd->add_flag("--cuda-graphs", c.cuda_graphs,
                "bench train on CUDA: capture the step as a CUDA graph and replay it, as `hemo train --cuda-graphs` "
                "does (the first warm-up step runs eagerly, the second rehearses the captured work, the third is "
                "captured; give --warmup 3 or more so that the timed steps are replays)");
}

Device prepare(ModelCase& c) {
  if (c.threads > 0) omp_set_num_threads(c.threads);
  nn::set_fusion_enabled(c.fusion);
  if (c.input_size == 0) c.input_size = models::model_spec(c.model).default_input;
  const Device device = resolve(c.device);
  set_precision(c.precision);
  return device;
}

nn::ModulePtr make_model(const ModelCase& c, Device device) {
  Generator gen(42);
  models::ModelOptions opt;
  opt.input_size = c.input_size;
  opt.memory_efficient = c.memory_efficient;
  nn::ModulePtr m = models::create_model(c.model, c.num_classes, opt, gen);
  m->to(device);
  return m;
}

Tensor random_tensor(const Shape& shape, Device device, uint64_t seed) {
  Generator g(seed, 5);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (float& x : v) x = static_cast<float>(g.uniform(-1.0, 1.0));
  return Tensor::from_vector(v, shape).to(device);
}

Tensor synthetic_images(int64_t n, int64_t size, Device device, uint64_t seed) {
  return random_tensor({n, 3, size, size}, device, seed);
}

std::vector<int64_t> synthetic_labels(int64_t n, int64_t num_classes) {
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % num_classes;
  return labels;
}

nlohmann::json case_json(const ModelCase& c) {
  nlohmann::json j = {{"model", c.model}, {"input_size", c.input_size}, {"batch_size", c.batch_size}};
  if (models::model_spec(c.model).family == "densenet") j["memory_efficient"] = c.memory_efficient;
  j["fusion"] = c.fusion;
  j["multi_tensor"] = c.multi_tensor;
  j["sync_every_step"] = c.sync_every_step;
  j["cuda_graphs"] = c.cuda_graphs;
  j["channels_last"] = c.channels_last;
  return j;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void synchronize([[maybe_unused]] Device device) {
#if HEMO_WITH_CUDA
  if (device.is_cuda()) cuda::synchronize_current();
#endif
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return "unknown";
}

nlohmann::json environment(Device device, Precision precision) {
  char date[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return {{"commit", hemo::commit()},     {"date", date},
          {"machine", cpu_model()},       {"threads", omp_get_max_threads()},
          {"device", device.str()},       {"precision", std::string(option_name(precision))}};
}

nlohmann::json memory_json([[maybe_unused]] Device device) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j = {{"host_peak_rss_bytes", static_cast<int64_t>(ru.ru_maxrss) * 1024}};
#if HEMO_WITH_CUDA
  if (device.is_cuda()) {
    const CudaMemoryStats s = cuda_memory_stats(device.index);
    j["device_in_use_bytes"] = s.in_use;
    j["device_peak_in_use_bytes"] = s.peak_in_use;
    j["device_reserved_bytes"] = s.reserved;
    j["device_peak_reserved_bytes"] = s.peak_reserved;
  }
#endif
  return j;
}

void reset_peak_memory([[maybe_unused]] Device device) {
#if HEMO_WITH_CUDA
  if (device.is_cuda()) cuda_reset_peak_stats(device.index);
#endif
}

void emit(const nlohmann::json& result, const std::string& table, bool json) {
  if (json) {
    std::printf("%s\n", result.dump(2).c_str());
    return;
  }
  const nlohmann::json& e = result.at("env");
  std::printf("hemo %s (%s) | %s | %d threads | %s %s\n%s", e.at("commit").get<std::string>().c_str(),
              e.at("date").get<std::string>().c_str(), e.at("machine").get<std::string>().c_str(),
              e.at("threads").get<int>(), e.at("device").get<std::string>().c_str(),
              e.at("precision").get<std::string>().c_str(), table.c_str());
}

std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

}  // namespace hemo::cli::bench
