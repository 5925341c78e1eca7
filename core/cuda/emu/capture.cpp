// Stream capture and CUDA graphs for the CUDA emulator's runtime (runtime.cpp serves the rest;
// the state both share is runtime_state.h). Stream capture records a stream's work as graph nodes
// (closures that run it, checking their pointers again when they run); a graph's launch runs them
// in order (docs/cuda.md). The rules CUDA keeps during a capture are here too: the runtime's calls
// ask them (submit, route_locked, unsafe_call, wait_conflict) before they run or record anything.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "core/cuda/emu/runtime_state.h"

using namespace hemo::emu::detail;  // Memory, memory(), fail() and the capture rules (runtime_state.h)

namespace hemo::emu::detail {

namespace {

// ---- Stream capture. Everything below runs under memory().mu where it says _locked.

void invalidate_locked(CUstream_st* s, cudaError_t why) {
  if (s && s->capture && s->invalidated == cudaSuccess) s->invalidated = why;
}

bool blocking(const CUstream_st* s) { return (s->flags & cudaStreamNonBlocking) == 0; }

// Work on the legacy stream while a blocking stream captures would depend on the capture
// (cudaErrorStreamCaptureImplicit); those captures are invalidated.
cudaError_t legacy_conflict_locked(Memory& m) {
  cudaError_t e = cudaSuccess;
  for (CUstream_st* s : m.capturing) {
    if (!blocking(s)) continue;
    invalidate_locked(s, cudaErrorStreamCaptureImplicit);
    e = cudaErrorStreamCaptureImplicit;
  }
  return e;
}

}  // namespace

// Where an asynchronous call on `stream` goes: an error, or (*into) the graph it is recorded
// into, null when it runs now.
cudaError_t route_locked(Memory& m, cudaStream_t stream, CUgraph_st** into) {
  *into = nullptr;
  if (!stream) return legacy_conflict_locked(m);
  if (m.streams.count(stream) == 0) return cudaErrorInvalidResourceHandle;
  if (stream->capture) {
    if (stream->invalidated != cudaSuccess) return cudaErrorStreamCaptureInvalidated;
    *into = stream->capture;
  }
  return cudaSuccess;
}

bool capturing(cudaStream_t stream) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  return stream && m.streams.count(stream) && stream->capture;
}

// An error on `stream`: returned, and its capture (if any) invalidated, as CUDA does.
cudaError_t fail_on(cudaStream_t stream, cudaError_t e) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (stream && m.streams.count(stream)) invalidate_locked(stream, e);
  return fail(e);
}

// Runs `node` now, or records it while the stream captures.
cudaError_t submit(cudaStream_t stream, EmuNode node) {
  {
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    CUgraph_st* into = nullptr;
    if (const cudaError_t e = route_locked(m, stream, &into); e != cudaSuccess) return fail(e);
    if (into) {
      into->nodes.push_back(std::move(node));
      return cudaSuccess;
    }
  }
  const cudaError_t e = node();
  return e == cudaSuccess ? e : fail(e);
}

// A potentially unsafe call (cudaMalloc, cudaFree, a blocking copy, a device synchronize) is
// prohibited while this thread captures in global or thread-local mode, or another thread in
// global mode: cudaErrorStreamCaptureUnsupported, and those captures are invalidated.
cudaError_t unsafe_call() {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  const std::thread::id me = std::this_thread::get_id();
  bool prohibited = false;
  for (CUstream_st* s : m.capturing) {
    const bool mine = s->thread == me;
    if ((mine && s->mode != cudaStreamCaptureModeRelaxed) || (!mine && s->mode == cudaStreamCaptureModeGlobal)) {
      invalidate_locked(s, cudaErrorStreamCaptureUnsupported);
      prohibited = true;
    }
  }
  return prohibited ? fail(cudaErrorStreamCaptureUnsupported) : cudaSuccess;
}

// Synchronizing with or querying `stream`: never allowed on a capturing stream (in any mode), nor
// on the legacy stream while a blocking stream captures.
cudaError_t wait_conflict(cudaStream_t stream) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (!stream) return legacy_conflict_locked(m) != cudaSuccess ? fail(cudaErrorStreamCaptureImplicit) : cudaSuccess;
  if (m.streams.count(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  if (!stream->capture) return cudaSuccess;
  invalidate_locked(stream, cudaErrorStreamCaptureUnsupported);
  return fail(cudaErrorStreamCaptureUnsupported);
}

// Ends `s`'s capture and hands back what it recorded (events it recorded become ordinary again).
CUgraph_st* end_capture_locked(Memory& m, CUstream_st* s) {
  CUgraph_st* g = std::exchange(s->capture, nullptr);
  m.capturing.erase(s);
  for (CUevent_st* e : m.events)
    if (e->captured_in == s) e->captured_in = nullptr;
  return g;
}

}  // namespace hemo::emu::detail

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  if (!stream) return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot capture
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed)
    return fail(cudaErrorInvalidValue);
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (m.streams.count(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  if (stream->capture) return fail(cudaErrorIllegalState);
  stream->capture = new CUgraph_st;
  stream->mode = mode;
  stream->thread = std::this_thread::get_id();
  stream->invalidated = cudaSuccess;
  m.capturing.insert(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!graph) return fail(cudaErrorInvalidValue);
  *graph = nullptr;
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (stream && m.streams.count(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  if (!stream || !stream->capture) return fail(cudaErrorIllegalState);
  if (stream->mode != cudaStreamCaptureModeRelaxed && stream->thread != std::this_thread::get_id())
    return fail(cudaErrorStreamCaptureWrongThread);
  const cudaError_t why = stream->invalidated;
  std::unique_ptr<CUgraph_st> g(end_capture_locked(m, stream));
  if (why != cudaSuccess) return fail(cudaErrorStreamCaptureInvalidated);
  m.graphs.insert(g.get());
  *graph = g.release();
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (!status) return fail(cudaErrorInvalidValue);
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  *status = cudaStreamCaptureStatusNone;
  if (!stream) {
    // Asking of the legacy stream while a blocking stream captures is an error, but harmless.
    for (CUstream_st* s : m.capturing)
      if (blocking(s)) return fail(cudaErrorStreamCaptureImplicit);
    return cudaSuccess;
  }
  if (m.streams.count(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  if (stream->capture)
    *status = stream->invalidated == cudaSuccess ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusInvalidated;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec) return fail(cudaErrorInvalidValue);
  *exec = nullptr;
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (!graph || m.graphs.count(graph) == 0) return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  m.execs.insert(*exec);
  return cudaSuccess;
}

// Runs the nodes in their order, now (everything in the emulator is synchronous); the first that
// fails stops the launch and is its error. Not a host synchronization: a GPU's host thread would
// go on at once.
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  {
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    if (!exec || m.execs.count(exec) == 0) return fail(cudaErrorInvalidValue);
    CUgraph_st* into = nullptr;
    if (const cudaError_t e = route_locked(m, stream, &into); e != cudaSuccess) return fail(e);
    if (into) {  // a graph launched into a capture (a child graph node): not emulated
      invalidate_locked(stream, cudaErrorStreamCaptureUnsupported);
      return fail(cudaErrorStreamCaptureUnsupported);
    }
  }
  for (const EmuNode& node : exec->nodes)
    if (const cudaError_t e = node(); e != cudaSuccess) return fail(e);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  if (!exec) return fail(cudaErrorInvalidValue);
  return destroy_handle(exec, &Memory::execs);
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  if (!graph) return fail(cudaErrorInvalidValue);
  return destroy_handle(graph, &Memory::graphs);
}
