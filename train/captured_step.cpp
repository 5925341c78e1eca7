#include "train/captured_step.h"

#include <cstddef>

#include "core/error.h"
#include "core/storage.h"

#if HEMO_WITH_CUDA
#include "core/cuda/graph.h"
#include "core/cuda_memory.h"
#include "core/cuda/stream.h"
#endif

namespace hemo::train {

namespace {
// The step block's layout: what run() writes before each replay.
struct StepBlock {
  int64_t step;
  uint64_t rng_base;
};
}  // namespace

#if HEMO_WITH_CUDA
// The graph on a stream of its own, whatever the caller's current stream: nothing else allocates
// from the blocks that stream caches, which the replays write (core/cuda/graph.h). The graph goes
// first when this goes (its teardown waits for the last replay).
struct CapturedStep::Graph {
  cuda::Stream stream;
  std::unique_ptr<cuda::Graph> graph;
  Graph() {
    cuda::StreamGuard guard(stream);
    graph = std::make_unique<cuda::Graph>();
  }
};
#else
struct CapturedStep::Graph {};
#endif

CapturedStep::CapturedStep(Device device, Optimizer& optimizer, Generator& gen)
    : device_(device), optimizer_(optimizer), gen_(gen) {
#if HEMO_WITH_CUDA
  HEMO_CHECK(device.is_cuda(), "--cuda-graphs needs a CUDA device (--device cuda); this run is on ", device.str());
  graph_ = std::make_unique<Graph>();
  step_block_ = std::make_shared<Storage>(sizeof(StepBlock), device);
#else
  throw Error("--cuda-graphs: this build of hemo has no CUDA");
#endif
}

CapturedStep::~CapturedStep() = default;

bool CapturedStep::captured() const {
#if HEMO_WITH_CUDA
  return graph_->graph->captured();
#else
  return false;
#endif
}

void CapturedStep::eager(const std::function<void()>& fn) {
#if HEMO_WITH_CUDA
  cuda::StreamGuard guard(graph_->graph->stream());
  fn();
#else
  (void)fn;
#endif
}

void CapturedStep::run(const data::Batch& batch, int64_t step, const Work& work) {
#if HEMO_WITH_CUDA
  const Shape shape{batch.n, batch.c, batch.h, batch.w};
  if (!x_.defined()) {  // the fixed buffers, allocated outside the capture
    x_ = Tensor::empty(shape, DType::f32, device_);
    labels_ = std::make_shared<Storage>(static_cast<size_t>(batch.n) * sizeof(int64_t), device_);
  }
  HEMO_CHECK(x_.shape() == shape && static_cast<int64_t>(batch.labels.size()) == batch.n,
             "--cuda-graphs: a batch of ", shape_str(shape), " after a captured step of ", shape_str(x_.shape()),
             "; a captured step replays one shape");
  auto* labels = static_cast<const int64_t*>(labels_->data());
  auto* block = static_cast<char*>(step_block_->data());  // device memory: addresses only
  const auto* step_at = reinterpret_cast<const int64_t*>(block + offsetof(StepBlock, step));
  const auto* rng_base = reinterpret_cast<const uint64_t*>(block + offsetof(StepBlock, rng_base));
  const auto stage_batch = [&] {  // queued on the caller's stream
    upload_bytes(x_.raw(), device_, batch.images.data, x_.nbytes(), batch.images.owner);
    upload_bytes(labels_->data(), device_, batch.labels.data(), labels_->bytes());
  };
  if (!rehearsed_) {
    // The rehearsal: `work` run eagerly on the graph's stream, so that its bins then hold the
    // blocks the same work asks for under capture, which then allocates little or nothing.
    stage_batch();
    const StepBlock host{step, 0};
    upload_bytes(block, device_, &host, sizeof host);
    optimizer_.prepare_capture();
    cuda::StreamGuard guard(graph_->graph->stream());
    work(x_, nn::StepOnDevice{labels, step_at}, /*capturing=*/false);
    rehearsed_ = true;
    return;
  }
  if (!captured()) {
    gen_.begin_relative(rng_base);
    try {
      // Allocation allowed, as a safety net: a block that the rehearsal left in none of the
      // stream's cached blocks, whole or split (core/cuda_memory.h), would be allocated at capture
      // time and held for the replays. Counted: none so far (tests/cuda/graph_train_cuda_test.cpp).
      const uint64_t mallocs = cuda_memory_stats(device_.index).device_mallocs;
      graph_->graph->capture([&] { work(x_, nn::StepOnDevice{labels, step_at}, /*capturing=*/true); },
                             cuda::Graph::Allocation::allowed);
      capture_mallocs_ = cuda_memory_stats(device_.index).device_mallocs - mallocs;
    } catch (...) {
      gen_.end_relative();
      throw;
    }
    rng_blocks_ = gen_.end_relative();
  }
  // What changes from step to step, queued on the caller's stream before the replay.
  stage_batch();
  const StepBlock host{step, rng_blocks_ > 0 ? gen_.reserve(rng_blocks_) : 0};
  upload_bytes(block, device_, &host, sizeof host);
  optimizer_.stage_captured();
  graph_->graph->replay();
  ++replays_;
#else
  (void)batch, (void)step, (void)work;
#endif
}

}  // namespace hemo::train
