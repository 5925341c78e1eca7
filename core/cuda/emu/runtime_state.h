// Internal to the CUDA emulator's runtime: the state and the helpers that core/cuda/emu/runtime.cpp
// (memory, copies, streams, events, launches, errors) and core/cuda/emu/capture.cpp (stream capture
// and CUDA graphs) share. Included by those two files only; nothing else of hemo sees it.
#pragma once
#include <cuda_runtime.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace hemo::emu::detail {

// One recorded piece of a stream's work: runs it and says how that went.
using EmuNode = std::function<cudaError_t()>;

}  // namespace hemo::emu::detail

struct CUgraph_st {
  std::vector<hemo::emu::detail::EmuNode> nodes;  // in stream order
};
struct CUgraphExec_st {
  std::vector<hemo::emu::detail::EmuNode> nodes;  // copies of the graph's (kernel parameters shared): the graph may go first
};
struct CUstream_st {
  unsigned flags = 0;
  // While the stream captures: the graph being recorded, the capture's mode and thread, and the
  // error that invalidated it (cudaSuccess while it is good).
  CUgraph_st* capture = nullptr;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id thread;
  cudaError_t invalidated = cudaSuccess;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point at{};
  bool recorded = false;
  CUstream_st* captured_in = nullptr;  // last recorded by this capturing stream (a graph node)
};

namespace hemo::emu::detail {

struct Memory {
  std::mutex mu;
  std::map<uintptr_t, size_t> device, pinned;  // start -> bytes
  size_t device_bytes = 0;
  std::set<CUstream_st*> streams;
  std::set<CUevent_st*> events;
  std::set<CUgraph_st*> graphs;
  std::set<CUgraphExec_st*> execs;
  std::set<CUstream_st*> capturing;  // the streams with a capture under way
};
Memory& memory();  // the one registry (runtime.cpp)

cudaError_t fail(cudaError_t e);  // records e as the thread's last error and returns it (runtime.cpp)

// Streams and events are heap objects the runtime keeps a set of, so a stale or foreign handle
// is an error (cudaErrorInvalidResourceHandle) instead of a crash.
template <class H>
cudaError_t create_handle(H** handle, std::set<H*> Memory::*live, H* made) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  *handle = made;
  (m.*live).insert(made);
  return cudaSuccess;
}
template <class H>
cudaError_t destroy_handle(H* handle, std::set<H*> Memory::*live) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (!handle || (m.*live).erase(handle) == 0) return fail(cudaErrorInvalidResourceHandle);
  delete handle;
  return cudaSuccess;
}

// The capture rules both files apply (capture.cpp, where each is described).
cudaError_t route_locked(Memory& m, cudaStream_t stream, CUgraph_st** into);
bool capturing(cudaStream_t stream);
cudaError_t fail_on(cudaStream_t stream, cudaError_t e);
cudaError_t submit(cudaStream_t stream, EmuNode node);
cudaError_t unsafe_call();
cudaError_t wait_conflict(cudaStream_t stream);
CUgraph_st* end_capture_locked(Memory& m, CUstream_st* s);

}  // namespace hemo::emu::detail
