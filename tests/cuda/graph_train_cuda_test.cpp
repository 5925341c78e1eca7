// --cuda-graphs (train/captured_step.h): a training run whose full batches replay one captured
// step equals, bit for bit, the same run without it: every weight, buffer and optimizer state of
// last.safetensors, the per-epoch losses and accuracies, and the dropout generator's state. The
// runs use dropout (its counters come from the device), a learning rate that changes every epoch
// and, with Adam, bias corrections that change every step (read from the device), a gradient clip,
// an epoch's last, smaller batch (run eagerly between replays), and bf16 precision (Adam) or
// channels-last activations (SGD). In the emulation build a
// replayed step makes no host synchronization. Refused settings name the setting.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#if HEMO_WITH_CUDA
#include "core/cuda/graph.h"
#include "core/cuda/stream.h"
#endif
#if defined(HEMO_CUDA_EMULATED)
#include <cuda_runtime.h>  // hemo::emu::host_syncs
#endif

#include "core/storage.h"
#include "tests/cuda/cuda_test.h"
#include "tests/train/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace hemo;

namespace {

struct Run {
  train::TrainResult result;
  train::Checkpoint last;
  std::vector<std::string> log;
  uint64_t host_syncs = 0;
};

// `variant`: Adam runs in bf16 precision (the weights' bf16 copies are converted inside the
// captured step), SGD with channels-last activations (the batch is converted inside it).
Run train_run(const fs::path& out, train::OptimizerKind optimizer, bool graphs, int epochs = 2) {
  fs::remove_all(out);
  train::TrainConfig c = test::tiny_config(out.string());
  c.device = DeviceChoice::cuda;
  c.epochs = epochs;
  c.batch_size = 5;  // 24 training images: 4 full batches and one of 4 per epoch
  c.augment = false;
  c.optimizer = optimizer;
  c.schedule = train::ScheduleKind::cosine;  // a new learning rate every epoch
  c.clip_grad_norm = 0.5;
  c.cuda_graphs = graphs;
  if (optimizer == train::OptimizerKind::adam)
    c.precision = Precision::bf16;
  else
    c.channels_last = true;
  Run r;
#if defined(HEMO_CUDA_EMULATED)
  const uint64_t before = emu::host_syncs();
#endif
  r.result = train::run_training(c, [&](const std::string& line) { r.log.push_back(line); });
#if defined(HEMO_CUDA_EMULATED)
  r.host_syncs = emu::host_syncs() - before;
#endif
  r.last = train::load_checkpoint((out / "last.safetensors").string());
  return r;
}

// Tensors of two lists that differ in any bit, by name; prints the first few.
int differing(const std::vector<std::pair<std::string, Tensor>>& a,
              const std::vector<std::pair<std::string, Tensor>>& b) {
  REQUIRE(a.size() == b.size());
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    const std::vector<double> x = a[i].second.to_vector<double>(), y = b[i].second.to_vector<double>();
    if (x != y && ++differ <= 3) MESSAGE(a[i].first, " differs");
  }
  return differ;
}

void check_same_run(const fs::path& base, train::OptimizerKind optimizer) {
  const Run eager = train_run(base / "eager", optimizer, false);
  const Run graphs = train_run(base / "graphs", optimizer, true);
  std::string replayed;
  for (const std::string& line : graphs.log)
    if (line.rfind("--cuda-graphs:", 0) == 0) replayed = line;
  MESSAGE("eager: train losses ", graphs.result.train_losses.size(), " epochs; graphs' last line: ", replayed);
  // 4 full batches per epoch: in epoch 1 two warm-up steps run eagerly, the third is captured and
  // replayed, the fourth replayed; all 4 of epoch 2 are replayed. Each epoch's last batch (4
  // images) runs eagerly.
  CHECK(replayed.rfind("--cuda-graphs: 6 steps replayed so far", 0) == 0);
  // The capture took every block from its stream's cache (split where needed): no cudaMalloc.
  CHECK_MESSAGE(replayed.find("the capture allocated 0 new blocks") != std::string::npos, replayed);
  CHECK(eager.result.train_losses == graphs.result.train_losses);  // exact
  nlohmann::json he = eager.last.train_state.at("history"), hg = graphs.last.train_state.at("history");
  for (nlohmann::json* h : {&he, &hg})
    for (nlohmann::json& epoch : *h) epoch.erase("seconds"), epoch.erase("images_per_s");  // timings
  CHECK(he == hg);
  CHECK(eager.last.train_state.at("dropout_rng") == graphs.last.train_state.at("dropout_rng"));
  CHECK(eager.last.train_state.at("step") == graphs.last.train_state.at("step"));
  const int model_differ = differing(eager.last.model, graphs.last.model);
  const int optimizer_differ = differing(eager.last.optimizer, graphs.last.optimizer);
  MESSAGE(eager.last.model.size(), " model tensors, ", model_differ, " differ; ", eager.last.optimizer.size(),
          " optimizer tensors, ", optimizer_differ, " differ; host synchronizations: eager ", eager.host_syncs,
          ", graphs ", graphs.host_syncs);
  CHECK(model_differ == 0);
  CHECK(optimizer_differ == 0);
  CHECK(eager.last.optimizer.size() > 10);
#if defined(HEMO_CUDA_EMULATED)
  // No replayed step waits for the device: the only extra synchronizations are the graph's
  // teardown (its stream is synchronized before the blocks it held return to the cache, and again
  // when the stream is destroyed).
  CHECK(graphs.host_syncs == eager.host_syncs + 2);
#endif
}

}  // namespace

// What a captured step may and may not contain: Tensor::full on the device is a fill kernel
// (backward's seed), so it is captured and replayed; an upload of host data is refused by name.
TEST_CASE("cuda: Tensor::full fills on the device (capturable); an upload inside a capture is refused") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  for (const Shape& s : {Shape{}, Shape{7}, Shape{3, 1001}}) {
    const Tensor cpu = Tensor::full(s, -2.75, DType::f32, Device::cpu());
    const Tensor dev = Tensor::full(s, -2.75, DType::f32, test::gpu());
    CHECK(dev.to(Device::cpu()).to_vector<float>() == cpu.to_vector<float>());
  }
  cuda::Graph graph;
  Tensor out = Tensor::zeros({5}, DType::f32, test::gpu());
  const auto fill = [&] {
    const Tensor ones = Tensor::full({5}, 1.5, DType::f32, test::gpu());
    copy_bytes(out.raw(), test::gpu(), ones.raw(), test::gpu(), out.nbytes());
  };
  {
    cuda::StreamGuard warm(graph.stream());  // the stream's cache then holds the block `fill` asks for
    fill();
  }
  zero_bytes(out.raw(), test::gpu(), out.nbytes());
  graph.capture(fill);
  CHECK(out.to(Device::cpu()).to_vector<float>() == std::vector<float>(5, 0.0f));  // nothing ran at capture
  graph.replay();
  CHECK(out.to(Device::cpu()).to_vector<float>() == std::vector<float>(5, 1.5f));
  const std::vector<float> host(5, 3.0f);
  std::string what;
  try {
    graph.capture([&] { upload_bytes(out.raw(), test::gpu(), host.data(), out.nbytes()); });
  } catch (const Error& e) {
    what = e.what();
  }
  MESSAGE(what);
  CHECK(what.find("upload of 20 bytes of host data inside a CUDA graph capture") != std::string::npos);
#endif
}

// The captured training step may allocate a block its rehearsal did not leave cached
// (cuda::Graph::Allocation::allowed, CUDA's relaxed mode); by default a capture refuses it.
TEST_CASE("cuda: a capture that allocates is refused by default, and replays when allowed") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  Tensor out = Tensor::zeros({977}, DType::f32, test::gpu());
  const auto fill = [&] {  // a size no stream's cache holds yet
    const Tensor t = Tensor::full({977 * 131}, 2.5, DType::f32, test::gpu());
    copy_bytes(out.raw(), test::gpu(), t.raw(), test::gpu(), out.nbytes());
  };
  cuda::Graph strict, relaxed;
  CHECK_THROWS_WITH_AS(strict.capture(fill), doctest::Contains("cudaMalloc"), Error);
  relaxed.capture(fill, cuda::Graph::Allocation::allowed);
  CHECK(out.to(Device::cpu()).to_vector<float>() == std::vector<float>(977, 0.0f));
  relaxed.replay();
  relaxed.replay();
  CHECK(out.to(Device::cpu()).to_vector<float>() == std::vector<float>(977, 2.5f));
#endif
}

TEST_CASE("cuda: --cuda-graphs trains the same bits as eager steps (Adam, bf16, dropout, cosine, clip)") {
  HEMO_REQUIRE_GPU();
  check_same_run(test::train_work_dir("graphs_adam"), train::OptimizerKind::adam);
}

TEST_CASE("cuda: --cuda-graphs trains the same bits as eager steps (SGD with momentum, channels-last)") {
  HEMO_REQUIRE_GPU();
  check_same_run(test::train_work_dir("graphs_sgd"), train::OptimizerKind::sgd);
}
