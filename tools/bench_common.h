// What `hemo bench train|infer|op` and `hemo profile` share: the model case they run (options,
// synthetic batch, model), the statistics of a list of timings, the environment every result
// records, memory figures, device synchronization, and the table-or-JSON output.
//
// Every result is one JSON object {"command", "env", ...}; "env" holds the commit (hemo/version.h,
// written by cmake/commit_header.cmake), the date, the machine (the CPU model from /proc/cpuinfo),
// the OpenMP threads, the device and the precision. Without --json the commands print a table.
// Timings are wall time, taken after the device has finished the work (synchronize).
#pragma once
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"
#include "core/options.h"
#include "tensor/tensor.h"

namespace hemo::cli::bench {

// Median, extremes and 99th percentile (nearest rank) of timings in seconds; `spread` is
// (max - min) / median. Throws hemo::Error on an empty list.
struct Stats {
  double median = 0, min = 0, max = 0, p99 = 0, spread = 0;
  int64_t n = 0;
};
Stats summarize(std::vector<double> seconds);
nlohmann::json ms_json(const Stats& s);  // {"median_ms", "min_ms", "max_ms", "p99_ms", "spread", "n"}

// A model run on a synthetic batch: the options of bench train, bench infer and profile.
struct ModelCase {
  std::string model = "pbcnet7";
  int64_t input_size = 0;  // 0: the model's default input size
  int64_t batch_size = 32;
  int64_t num_classes = 8;
  DeviceChoice device = DeviceChoice::cpu;
  Precision precision = Precision::tf32;
  int threads = 0;  // 0: OpenMP's default
  int warmup = 2, steps = 5;
  bool json = false;
  bool memory_efficient = true;  // DenseNet's checkpointed concatenations (models/densenet.h)
  bool fusion = true;            // batch norm + ReLU/ReLU6 as one op (nn/fusion.h)
  bool multi_tensor = true;      // one optimizer update for all parameters (kernels/optim.h)
  bool channels_last = false;    // the input batch stored channels-last (NHWC), tensor/tensor.h
  bool sync_every_step = false;  // bench train: read the step meter within each step (train/step_meter.h)
  bool cuda_graphs = false;      // bench train: replay the step as a CUDA graph (train/captured_step.h)
};
// Adds --model --input-size --batch-size --classes --device --precision --threads --warmup
// --steps --json --no-memory-efficient --no-fusion --no-multi-tensor --sync-every-step to `cmd`, with `c`'s values as defaults.
void add_model_case_options(CLI::App* cmd, ModelCase& c);
// Applies --threads and --no-fusion, resolves the device, sets the precision (kernels/precision.h) and fills in
// the input size; returns the device.
Device prepare(ModelCase& c);
nn::ModulePtr make_model(const ModelCase& c, Device device);  // seeded, in training mode
// Uniform in [-1, 1], drawn on the host from `seed`, then moved to `device`.
Tensor random_tensor(const Shape& shape, Device device, uint64_t seed);
Tensor synthetic_images(int64_t n, int64_t size, Device device, uint64_t seed = 1);  // random_tensor [n, 3, size, size]
std::vector<int64_t> synthetic_labels(int64_t n, int64_t num_classes);
nlohmann::json case_json(const ModelCase& c);  // model, input_size, batch_size

double now();                  // steady clock, seconds
void synchronize(Device device);  // waits for the device's queued work (a no-op on the CPU)

// {"commit", "date", "machine", "threads", "device", "precision"}.
nlohmann::json environment(Device device, Precision precision);
std::string cpu_model();

// Host peak RSS ("host_peak_rss_bytes"); on a CUDA device also the caching allocator's current and
// peak bytes in use and reserved. reset_peak restarts the device peaks (the host's cannot be).
nlohmann::json memory_json(Device device);
void reset_peak_memory(Device device);

// Prints `result` as JSON (one object) when `json`, else the env line and `table`.
void emit(const nlohmann::json& result, const std::string& table, bool json);

// printf into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace hemo::cli::bench
