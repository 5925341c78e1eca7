// CUDA graphs: a piece of device work captured once and replayed as one launch, for
// `--cuda-graphs` (a whole training step per replay: one cudaGraphLaunch instead of hundreds of
// kernel launches, which is what makes small-batch steps launch-bound).
//
// The contract for the captured `work` (CUDA's stream-capture rules; breaking one makes capture()
// throw an Error that names the call, or makes replays compute with stale values):
//   - It only queues device work on the current stream: hemo kernels, cuBLAS/cuDNN calls,
//     cudaMemcpyAsync/cudaMemsetAsync, events. Nothing in it runs at capture time; each replay
//     runs all of it again, with the same kernel parameters (values copied at capture).
//   - No host synchronization: no cudaStreamSynchronize/cudaDeviceSynchronize/cudaEventSynchronize,
//     no blocking cudaMemcpy, no read of a device value on the host (Tensor::item, to(cpu)), no
//     cudaMemcpyAsync from pageable host memory (pinned memory only: a replay re-reads the same
//     host address), no HEMO_CUDA_SYNC=1.
//   - No allocation that reaches cudaMalloc (or a cache release that reaches cudaFree), unless
//     capture() is asked to allow it: run `work`
//     once on stream() before capturing, so that the caching allocator (per-stream bins) already
//     holds every block it asks for (and cuDNN's per-shape algorithm search, which synchronizes,
//     has been done). Blocks `work` allocates and frees again may be handed to
//     other work on stream() between replays; the graph rewrites them before it reads them, so
//     only the tensors `work` keeps (outputs stored outside it) must stay alive across replays.
//   - Static shapes and addresses: a replay reads its inputs from, and writes its outputs to, the
//     device (and pinned) addresses that existed at capture. New inputs are copied into the same
//     buffers before each replay, and those buffers must outlive the graph.
//   - No work on the legacy stream 0 inside `work` (the capturing stream is a blocking one, and
//     CUDA refuses the implicit dependency).
// replay() is ordered after the caller's current stream's earlier work and before its later work.
#pragma once
#include <cuda_runtime.h>

#include <functional>
#include <memory>

#include "core/cuda/stream.h"

namespace hemo::cuda {

class Graph {
 public:
  // Captures on the current stream if hemo has one (not the legacy stream 0, which CUDA cannot
  // capture); otherwise on a stream of its own.
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Runs `work` with capture active on stream() (made current for the call), ends the capture and
  // instantiates the graph, replacing any graph captured before. Throws hemo::Error saying what
  // went wrong (a prohibited call inside `work`, named by its check); the capture is then ended
  // and nothing is kept. `allocate`: whether `work` may reach cudaMalloc (CUDA's relaxed capture
  // mode; the block is allocated at capture time and, cached on stream() when freed, held for the
  // replays). Host synchronizations of the capturing stream stay refused either way.
  enum class Allocation { refused, allowed };
  void capture(const std::function<void()>& work, Allocation allocate = Allocation::refused);
  // Runs the captured work once more (asynchronously on a GPU). Not a host synchronization.
  void replay();
  bool captured() const { return exec_ != nullptr; }
  // The stream the work is captured on: warm the allocator up by running `work` once under
  // StreamGuard(graph.stream()) before capture().
  cudaStream_t stream() const { return stream_; }

 private:
  void reset() noexcept;

  std::unique_ptr<Stream> own_;  // when hemo's current stream was the legacy one
  cudaStream_t stream_ = nullptr;
  cudaEvent_t order_ = nullptr;  // orders replays with a caller on another stream
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace hemo::cuda
