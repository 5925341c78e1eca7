// A training step without host synchronization (train/step_meter.h): the device's step bookkeeping
// kernel (kernels/step_stats.h) against its CPU reference, bit for bit; and the trainer on the
// device, deferred against --sync-every-step: the same weights and sums bit for bit, and (in the
// emulation build, which counts them) no host synchronization in a step.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <nlohmann/json.hpp>
#include <vector>
#if defined(HEMO_CUDA_EMULATED)
#include <cuda_runtime.h>
#endif

#include "kernels/step_stats.h"
#include "nn/ops_step.h"
#include "tests/cuda/cuda_test.h"
#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/interrupt.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace hemo;

namespace {

// Steps of logits with ties (a row of equal values: the first wins), NaN rows, and losses and
// gradient norms that go non-finite part way, recorded into stats on `device`.
std::vector<double> record_steps(Device device) {
  const int64_t n = 37, k = 9, p = 5;
  nn::StepStats stats(device);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::vector<float>> losses = {{2.5f}, {1.25f}, {nan}, {0.75f}, {inf}};
  for (int64_t step = 0; step < 5; ++step) {
    std::vector<float> z = test::random_tensor({n, k}, 100 + static_cast<uint64_t>(step), DType::f32).to_vector<float>();
    for (int64_t c = 0; c < k; ++c) z[static_cast<size_t>(3 * k + c)] = 0.5f;  // a tie: class 0 wins
    z[static_cast<size_t>(5 * k + 2)] = nan;                                    // a NaN never wins
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = (i * 7 + step) % k;
    labels[3] = 0;  // the tied row is right only if its first maximum wins
    std::vector<float> sq = test::random_positive({p}, 200 + static_cast<uint64_t>(step), DType::f32).to_vector<float>();
    if (step == 3) sq[2] = inf;  // finite loss, infinite norm: the norm names parameter 2
    if (step == 4) sq[4] = nan;  // the last step's first bad parameter: 4
    const Tensor logits = Tensor::from_vector(z, {n, k}).to(device);
    const Tensor loss = Tensor::from_vector(losses[static_cast<size_t>(step)], {1}).to(device);
    const Tensor param_sq = Tensor::from_vector(sq, {p}).to(device);
    nn::record_step(stats, loss, param_sq, logits, labels, step);
  }
  return stats.read();
}

// Gradients of 160 parameters on `device` (some empty, one without a gradient; 136 non-empty:
// launches of 64, 64 and 8 tensors), clipped at max_norm there; returns them, flat, in order.
std::vector<float> clipped(Device device, double max_norm, bool nan_grad) {
  std::vector<Tensor> params;
  for (int j = 0; j < 160; ++j) {
    const int64_t n = j % 7 == 3 ? 0 : 1 + (j * 37) % 300;
    Tensor p = Tensor::zeros({n}).to(device);
    p.requires_grad_(true);
    std::vector<float> g = test::random_tensor({n}, 300 + static_cast<uint64_t>(j), DType::f32, 0.01, 0.3).to_vector<float>();
    if (nan_grad && j == 40) g[5] = std::numeric_limits<float>::quiet_NaN();
    if (j != 11) p.set_grad(Tensor::from_vector(g, {n}).to(device));
    params.push_back(p);
  }
  const Tensor param_sq = nn::grad_squares(params);
  nn::clip_grads_(params, param_sq, max_norm);
  std::vector<float> out;
  for (const Tensor& p : params)
    if (p.grad().defined())
      for (float v : p.grad().to_vector<float>()) out.push_back(v);
  return out;
}

train::TrainConfig device_config(const fs::path& out, bool sync_every_step) {
  train::TrainConfig c = test::tiny_config(out.string());
  c.device = DeviceChoice::cuda;
  c.epochs = 1;
  c.batch_size = 4;  // 24 training images: 6 steps
  c.augment = false;
  c.sync_every_step = sync_every_step;
  return c;
}

// Trains until the optimizer step `at` (HEMO_INTERRUPT_AT_STEP), which saves last.safetensors with
// the epoch's sums so far; returns the host synchronizations the run made (emulation build; 0 on a GPU).
uint64_t train_until(const fs::path& out, bool sync_every_step, int at, double clip = 0) {
  fs::remove_all(out);
  setenv("HEMO_INTERRUPT_AT_STEP", std::to_string(at).c_str(), 1);
  setenv("HEMO_STEP_READ_INTERVAL_S", "1e9", 1);  // deferred: read at the epoch's end or an interrupt only
#if defined(HEMO_CUDA_EMULATED)
  const uint64_t before = emu::host_syncs();
#endif
  try {
    train::TrainConfig c = device_config(out, sync_every_step);
    c.clip_grad_norm = clip;
    train::run_training(c, test::quiet);
    FAIL("no interrupt");
  } catch (const train::Interrupted&) {
  }
  unsetenv("HEMO_INTERRUPT_AT_STEP");
  unsetenv("HEMO_STEP_READ_INTERVAL_S");
#if defined(HEMO_CUDA_EMULATED)
  return emu::host_syncs() - before;
#else
  return 0;
#endif
}

}  // namespace

TEST_CASE("cuda: the step bookkeeping kernel gives the CPU reference's stats bit for bit") {
  HEMO_REQUIRE_GPU();
  const std::vector<double> cpu = record_steps(Device::cpu()), gpu = record_steps(test::gpu());
  REQUIRE(cpu.size() == static_cast<size_t>(kStatsSize));
  int differ = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    CAPTURE(i);
    CHECK(std::memcmp(&cpu[i], &gpu[i], sizeof(double)) == 0);
    differ += std::memcmp(&cpu[i], &gpu[i], sizeof(double)) != 0;
  }
  MESSAGE("stats: ", differ, " of ", cpu.size(), " differ; loss sum ", cpu[kLossSum], ", correct ", cpu[kCorrect],
          ", seen ", cpu[kSeen], ", first bad step ", cpu[kBadStep], " (parameter ", cpu[kBadParam], ")");
  // Steps 0, 1 and 3 finite in the loss; step 3's norm is not: two steps counted.
  CHECK(cpu[kSeen] == 2 * 37);
  CHECK(cpu[kLossSum] == (2.5 + 1.25) * 37);
  CHECK(cpu[kBadStep] == 2);  // the NaN loss; its norm is finite, so no parameter
  CHECK(cpu[kBadParam] == -1);
  CHECK(cpu[kLastBad] == 1);
  CHECK(cpu[kLastParam] == 4);
  CHECK(cpu[kCorrect] > 0);
}

TEST_CASE("cuda: the gradient clip gives the CPU reference's gradients bit for bit") {
  HEMO_REQUIRE_GPU();
  for (const double max_norm : {0.5, 1e6}) {
    for (const bool nan_grad : {false, true}) {
      CAPTURE(max_norm);
      CAPTURE(nan_grad);
      const std::vector<float> cpu = clipped(Device::cpu(), max_norm, nan_grad);
      const std::vector<float> gpu = clipped(test::gpu(), max_norm, nan_grad);
      const std::vector<float> unclipped = clipped(Device::cpu(), 1e30, false);
      REQUIRE(cpu.size() == gpu.size());
      size_t differ = 0, scaled = 0;
      for (size_t i = 0; i < cpu.size(); ++i) {
        differ += std::memcmp(&cpu[i], &gpu[i], sizeof(float)) != 0;
        scaled += !std::isnan(cpu[i]) && cpu[i] != unclipped[i];
      }
      MESSAGE("max_norm ", max_norm, std::string(nan_grad ? ", a NaN gradient" : ""), ": ", cpu.size(), " elements, ", differ,
              " differ, ", scaled, " scaled");
      CHECK(differ == 0);
      CHECK(scaled == (max_norm < 1 && !nan_grad ? cpu.size() : size_t{0}));  // a NaN norm: left alone
    }
  }
}

namespace {

// Deferred runs stopped at steps 3 and 5 and a --sync-every-step run stopped at step 5, clipped at
// `clip` (0: off): no host synchronization in steps 4 and 5, and the same weights and sums.
void check_deferred(const fs::path& base, double clip) {
  const uint64_t deferred3 = train_until(base / "deferred3", false, 3, clip);
  const uint64_t deferred5 = train_until(base / "deferred5", false, 5, clip);
  const uint64_t synced5 = train_until(base / "synced5", true, 5, clip);
  MESSAGE("--clip-grad-norm ", clip, ": host synchronizations: deferred, interrupted at step 3: ", deferred3,
          "; at step 5: ", deferred5, "; --sync-every-step at step 5: ", synced5);
#if defined(HEMO_CUDA_EMULATED)
  CHECK(deferred5 == deferred3);    // steps 4 and 5 waited for nothing
  CHECK(synced5 >= deferred5 + 5);  // the synchronous mode reads every step
#endif
  const train::Checkpoint a = train::load_checkpoint((base / "deferred5" / "last.safetensors").string());
  const train::Checkpoint b = train::load_checkpoint((base / "synced5" / "last.safetensors").string());
  const nlohmann::json& pa = a.train_state.at("partial");
  const nlohmann::json& pb = b.train_state.at("partial");
  MESSAGE("deferred: ", pa.dump(), "; --sync-every-step: ", pb.dump());
  for (const char* key : {"steps", "loss_sum", "correct", "seen"}) CHECK(pa.at(key) == pb.at(key));  // exact
  CHECK(pa.at("seen") == 20);
  REQUIRE(a.model.size() == b.model.size());
  int differ = 0;
  for (size_t i = 0; i < a.model.size(); ++i) differ += a.model[i].second.to_vector<float>() != b.model[i].second.to_vector<float>();
  MESSAGE(a.model.size(), " tensors, ", differ, " differ");
  CHECK(differ == 0);
}

std::vector<float> final_weights(const fs::path& run) {
  std::vector<float> all;
  for (const auto& [name, t] : train::load_checkpoint((run / "last.safetensors").string()).model)
    for (float v : t.to_vector<float>()) all.push_back(v);
  return all;
}

}  // namespace

TEST_CASE("cuda: a training step waits for the device nowhere; deferred and --sync-every-step give the same bits") {
  HEMO_REQUIRE_GPU();
  check_deferred(test::train_work_dir("step_sync"), 0);
}

// The clip takes the norm on the device (kernels/grad_clip.h), so a clipped step waits for nothing.
TEST_CASE("cuda: a clipped training step waits for the device nowhere either, and clips") {
  HEMO_REQUIRE_GPU();
  const fs::path base = test::train_work_dir("step_sync_clip");
  check_deferred(base, 0.05);
  train_until(base / "unclipped5", false, 5);
  CHECK(final_weights(base / "deferred5") != final_weights(base / "unclipped5"));
}
