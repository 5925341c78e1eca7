#include "core/cuda/graph.h"

#include <string>

#include "core/cuda/check.h"
#include "core/cuda_memory.h"
#include "core/error.h"

namespace hemo::cuda {

namespace {

// What a failed check inside `work` means for a capture, from the CUDA error it names.
std::string why_capture_failed(const std::string& what) {
  if (what.find("cudaErrorStreamCaptureUnsupported") != std::string::npos)
    return "a host synchronization or an allocation inside a CUDA graph capture (CUDA prohibits it while a stream "
           "captures; see core/cuda/graph.h)";
  if (what.find("cudaErrorStreamCaptureImplicit") != std::string::npos)
    return "work on the legacy default stream inside a CUDA graph capture (it would depend on the capture)";
  if (what.find("cudaErrorStreamCaptureInvalidated") != std::string::npos)
    return "work queued after an earlier error had invalidated the CUDA graph capture";
  return "the captured work failed";
}

// Makes `to` wait for what is queued on `from` so far. Not needed when either is the legacy
// stream: hemo's streams are blocking, so the legacy stream orders them already.
void order(cudaEvent_t event, cudaStream_t from, cudaStream_t to) {
  if (from == to || !from || !to) return;
  HEMO_CUDA_CHECK(cudaEventRecord(event, from));
  HEMO_CUDA_CHECK(cudaStreamWaitEvent(to, event, 0));
}

}  // namespace

Graph::Graph() {
  stream_ = current_stream();
  if (!stream_) {
    own_ = std::make_unique<Stream>();
    stream_ = own_->get();
  }
  HEMO_CUDA_CHECK(cudaEventCreateWithFlags(&order_, cudaEventDisableTiming));
}

Graph::~Graph() {
  reset();
  if (order_) (void)cudaEventDestroy(order_);
}

void Graph::reset() noexcept {
  // A destructor path: a failure here means the context is already broken, and the next checked
  // call reports it.
  if (exec_) {
    // Queued replays may still write the held blocks: they finish before the cache can free them.
    (void)cudaStreamSynchronize(stream_);
    cuda_release_stream_cache(stream_);
    (void)cudaGraphExecDestroy(exec_);
  }
  if (graph_) (void)cudaGraphDestroy(graph_);
  exec_ = nullptr;
  graph_ = nullptr;
}

void Graph::capture(const std::function<void()>& work, Allocation allocate) {
  reset();
  StreamGuard guard(stream_);
  HEMO_CUDA_CHECK(cudaStreamBeginCapture(
      stream_, allocate == Allocation::allowed ? cudaStreamCaptureModeRelaxed : cudaStreamCaptureModeGlobal));
  // The capture must end however `work` ends, or the stream (and, for a blocking stream, the
  // legacy stream) stays unusable.
  const auto end_capture = [this] {
    cudaGraph_t g = nullptr;
    const cudaError_t status = cudaStreamEndCapture(stream_, &g);
    if (g) (void)cudaGraphDestroy(g);
    (void)cudaGetLastError();
    return status;
  };
  try {
    work();
  } catch (const Error& e) {
    end_capture();
    throw Error(cat(why_capture_failed(e.what()), ": ", e.what()));
  } catch (...) {
    end_capture();
    throw;
  }
  const cudaError_t status = cudaStreamEndCapture(stream_, &graph_);
  if (status == cudaErrorStreamCaptureInvalidated) {
    (void)cudaGetLastError();
    throw Error(
        "a call CUDA prohibits during stream capture (a host synchronization, a blocking or pageable-memory "
        "copy, or an allocation) invalidated the CUDA graph capture, and its own error was not checked "
        "(cudaStreamEndCapture: cudaErrorStreamCaptureInvalidated); see core/cuda/graph.h");
  }
  HEMO_CUDA_CHECK(status);
  HEMO_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
  cuda_hold_stream_cache(stream_);  // the blocks the replays write stay out of the cache's releases
}

void Graph::replay() {
  HEMO_CHECK(captured(), "cuda::Graph::replay: nothing was captured");
  const cudaStream_t caller = current_stream();
  order(order_, caller, stream_);
  HEMO_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  order(order_, stream_, caller);
}

}  // namespace hemo::cuda
