// The CUDA runtime calls hemo makes, served on the CPU for the emulation build. One emulated device
// with an H100's properties (132 multiprocessors, compute capability 9.0); device memory is
// exact-size heap blocks (so AddressSanitizer sees one element past the end) counted against an
// emulated capacity (HEMO_EMU_DEVICE_MB, default 16384) so out-of-memory paths run; copies and
// fills check that device pointers lie inside a live allocation, as CUDA's would fail on them.
// Stream capture and CUDA graphs live in capture.cpp, with the capture rules the calls here ask
// before they run or record work (submit, route_locked, unsafe_call, wait_conflict); the state
// both files share is runtime_state.h.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/cuda/emu/grid.h"
#include "core/cuda/emu/runtime_state.h"

using namespace hemo::emu::detail;  // Memory, memory(), fail() and the capture rules (runtime_state.h)

namespace {

constexpr int kDevices = 1;

size_t capacity() {
  static const size_t bytes = [] {
    const char* v = std::getenv("HEMO_EMU_DEVICE_MB");
    return (v && *v ? std::strtoull(v, nullptr, 10) : size_t{16384}) << 20;
  }();
  return bytes;
}

thread_local int tl_device = 0;
thread_local cudaError_t tl_last = cudaSuccess;
std::mutex g_fault_mu;
std::string g_fault;  // the last launch fault's description, for cudaGetErrorString

}  // namespace

namespace hemo::emu::detail {

Memory& memory() {
  static Memory* m = new Memory;  // never destroyed: frees may come from static destructors
  return *m;
}

cudaError_t fail(cudaError_t e) {
  tl_last = e;
  return e;
}

}  // namespace hemo::emu::detail

namespace {

// Whether [p, p + bytes) lies inside one live block of `blocks`.
bool inside(const std::map<uintptr_t, size_t>& blocks, const void* p, size_t bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  auto it = blocks.upper_bound(a);
  if (it == blocks.begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->first + it->second;
}

bool on_device(const void* p, size_t bytes) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  return inside(m.device, p, bytes);
}

bool valid_stream(cudaStream_t s) {
  if (!s) return true;
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  return m.streams.count(s) != 0;
}

// A copy's pointers against its direction: device sides must be device memory, whole.
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool dst_dev = on_device(dst, bytes), src_dev = on_device(src, bytes);
  switch (kind) {
    case cudaMemcpyHostToDevice: return dst_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToHost: return src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToDevice: return dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyHostToHost:
    case cudaMemcpyDefault: return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

// Whether a copy's host side is ordinary (pageable) memory, which CUDA copies synchronously.
bool pageable_side(const void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const auto pageable = [bytes](const void* p) {
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    return !inside(m.pinned, p, bytes);
  };
  switch (kind) {
    case cudaMemcpyHostToDevice: return pageable(src);
    case cudaMemcpyDeviceToHost: return pageable(dst);
    case cudaMemcpyHostToHost: return true;
    default: return false;
  }
}

// A copy or a fill as it runs (now, or when its graph replays: the memory may be gone by then).
cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t fill(void* dst, int value, size_t bytes) {
  if (!on_device(dst, bytes)) return cudaErrorInvalidValue;
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

std::atomic<uint64_t> g_host_syncs{0};

}  // namespace

namespace hemo::emu {

void announce() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::fprintf(stderr,
                 "hemo: CUDA emulated on the CPU (one H100-like device, seed %llu); emulated: cuDNN/cuBLAS by the "
                 "CPU reference\n",
                 static_cast<unsigned long long>(seed()));
  });
}

namespace {
cudaError_t run_kernel(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
                       Body run, void* ctx) {
  const std::string fault = run_grid(kernel, file, line, grid, block, shared_bytes, run, ctx);
  if (fault.empty()) return cudaSuccess;
  std::lock_guard lock(g_fault_mu);
  g_fault = fault;
  return cudaErrorLaunchFailure;
}
}  // namespace

void launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, const KernelBody& body) {
  const std::string bad = launch_error(grid, block, shared_bytes);
  if (!bad.empty()) {
    {
      std::lock_guard lock(g_fault_mu);
      g_fault = "invalid launch configuration of kernel '" + std::string(kernel) + "': " + bad;
    }
    fail_on(stream, cudaErrorInvalidConfiguration);
    return;
  }
  {
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    CUgraph_st* into = nullptr;
    if (const cudaError_t e = route_locked(m, stream, &into); e != cudaSuccess) {
      tl_last = e;
      return;
    }
    if (into) {
      // The parameters are copied into the node, as CUDA copies a captured launch's; kernel and
      // file are string literals (HEMO_LAUNCH's #kernel and __FILE__).
      std::shared_ptr<void> ctx = body.keep(body.ctx);
      into->nodes.push_back([=, run = body.run] {
        return run_kernel(kernel, file, line, grid, block, shared_bytes, run, ctx.get());
      });
      return;
    }
  }
  if (const cudaError_t e = run_kernel(kernel, file, line, grid, block, shared_bytes, body.run, body.ctx);
      e != cudaSuccess)
    tl_last = e;
}

cudaError_t enqueue(cudaStream_t stream, std::function<void()> work) {
  return submit(stream, [w = std::move(work)] {
    w();
    return cudaSuccess;
  });
}

void count_host_sync() { g_host_syncs.fetch_add(1); }
uint64_t host_syncs() { return g_host_syncs.load(); }

size_t device_bytes_in_use() {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  return m.device_bytes;
}

}  // namespace hemo::emu

cudaError_t cudaGetDeviceCount(int* count) {
  *count = kDevices;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = tl_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= kDevices) return fail(cudaErrorInvalidDevice);
  tl_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device < 0 || device >= kDevices) return fail(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "%s", "NVIDIA H100 80GB HBM3 (hemo CPU emulation)");
  p->totalGlobalMem = capacity();
  p->sharedMemPerBlock = 48 * 1024;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->major = 9, p->minor = 0;
  p->multiProcessorCount = 132;
  p->maxThreadsPerMultiProcessor = 2048;
  p->l2CacheSize = 50 << 20;
  p->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = p.maxThreadsPerMultiProcessor; break;
    case cudaDevAttrL2CacheSize: *value = p.l2CacheSize; break;
    default: return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) return e;
  hemo::emu::count_host_sync();
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *total_bytes = capacity();
  *free_bytes = capacity() - hemo::emu::device_bytes_in_use();
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  hemo::emu::announce();
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) {
    *ptr = nullptr;
    return e;
  }
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  *ptr = nullptr;
  if (bytes > capacity() - m.device_bytes) return fail(cudaErrorMemoryAllocation);
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) return fail(cudaErrorMemoryAllocation);
  m.device[reinterpret_cast<uintptr_t>(p)] = bytes;
  m.device_bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) return e;
  if (!ptr) return cudaSuccess;
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  auto it = m.device.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == m.device.end()) return fail(cudaErrorInvalidDevicePointer);
  m.device_bytes -= it->second;
  m.device.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  void* p = nullptr;
  if (posix_memalign(&p, 4096, bytes == 0 ? 1 : bytes) != 0) return fail(cudaErrorMemoryAllocation);
  m.pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, 0); }

cudaError_t cudaFreeHost(void* ptr) {
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) return e;
  if (!ptr) return cudaSuccess;
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  if (m.pinned.erase(reinterpret_cast<uintptr_t>(ptr)) == 0) return fail(cudaErrorInvalidValue);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* ptr) {
  Memory& m = memory();
  std::lock_guard lock(m.mu);
  *a = cudaPointerAttributes{cudaMemoryTypeUnregistered, -1, nullptr, nullptr};
  if (inside(m.device, ptr, 1)) {
    *a = {cudaMemoryTypeDevice, 0, const_cast<void*>(ptr), nullptr};
  } else if (inside(m.pinned, ptr, 1)) {
    *a = {cudaMemoryTypeHost, 0, const_cast<void*>(ptr), const_cast<void*>(ptr)};
  }
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  // A blocking copy runs on the legacy stream and waits for it.
  if (const cudaError_t e = wait_conflict(nullptr); e != cudaSuccess) return e;
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) return e;
  hemo::emu::count_host_sync();
  if (bytes == 0) return cudaSuccess;
  const cudaError_t e = copy(dst, src, bytes, kind);
  return e == cudaSuccess ? e : fail(e);
}
// A captured copy to or from pinned memory reads or writes the same host address at each replay;
// pageable memory CUDA refuses to capture (it would stage it synchronously).
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  const bool pageable = pageable_side(dst, src, bytes, kind);
  const bool captured = capturing(stream);
  if (pageable && captured) return fail_on(stream, cudaErrorStreamCaptureUnsupported);
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return fail_on(stream, e);
  const cudaError_t e = submit(stream, [=] { return copy(dst, src, bytes, kind); });
  if (e == cudaSuccess && pageable) hemo::emu::count_host_sync();
  return e;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!on_device(dst, bytes)) return fail_on(stream, cudaErrorInvalidValue);
  return submit(stream, [=] { return fill(dst, value, bytes); });
}
cudaError_t cudaMemset2DAsync(void* dst, size_t pitch, int value, size_t width, size_t height, cudaStream_t stream) {
  if (height == 0 || width == 0) return cudaSuccess;
  if (width > pitch) return fail(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; ++r)
    if (const cudaError_t e = cudaMemsetAsync(static_cast<char*>(dst) + r * pitch, value, width, stream); e != cudaSuccess)
      return e;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  CUstream_st* s = new CUstream_st;
  s->flags = flags;
  return create_handle(stream, &Memory::streams, s);
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  {
    // A capture under way is dropped with its stream.
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    if (stream && m.streams.count(stream) && stream->capture) delete end_capture_locked(m, stream);
  }
  return destroy_handle(stream, &Memory::streams);
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (const cudaError_t e = wait_conflict(stream); e != cudaSuccess) return e;
  hemo::emu::count_host_sync();
  return cudaStreamQuery(stream);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (const cudaError_t e = wait_conflict(stream); e != cudaSuccess) return e;
  return valid_stream(stream) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}
// Captured, a wait is a node that does nothing (the emulator captures one stream, in order); an
// event recorded by another stream's capture would join that capture, which is not emulated.
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  if (event->captured_in && event->captured_in != stream) return fail_on(stream, cudaErrorStreamCaptureUnsupported);
  return submit(stream, [] { return cudaSuccess; });
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  return create_handle(event, &Memory::events, new CUevent_st);
}
cudaError_t cudaEventDestroy(cudaEvent_t event) { return destroy_handle(event, &Memory::events); }
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event || !valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  const bool captured = capturing(stream);
  // The node finds the event again at replay: it may have been destroyed since.
  const cudaError_t e = submit(stream, [event] {
    Memory& m = memory();
    std::lock_guard lock(m.mu);
    if (m.events.count(event) == 0) return cudaErrorInvalidResourceHandle;
    event->at = std::chrono::steady_clock::now();
    event->recorded = true;
    return cudaSuccess;
  });
  if (e == cudaSuccess) event->captured_in = captured ? stream : nullptr;
  return e;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (event && event->captured_in) return fail(cudaErrorCapturedEvent);
  if (const cudaError_t e = unsafe_call(); e != cudaSuccess) return e;
  hemo::emu::count_host_sync();
  return cudaEventQuery(event);
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (!event) return fail(cudaErrorInvalidResourceHandle);
  return event->captured_in ? fail(cudaErrorCapturedEvent) : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end) return fail(cudaErrorInvalidResourceHandle);
  if (start->captured_in || end->captured_in) return fail(cudaErrorCapturedEvent);
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = tl_last;
  tl_last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return tl_last; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    case cudaErrorCapturedEvent: return "cudaErrorCapturedEvent";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaErrorLaunchFailure:
    case cudaErrorInvalidConfiguration: {
      // The text of the last fault; kept for the process (as CUDA's strings are).
      thread_local std::string text;
      std::lock_guard lock(g_fault_mu);
      text = g_fault;
      return text.c_str();
    }
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory (emulated device capacity, HEMO_EMU_DEVICE_MB)";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the resource is not in a valid state to perform the requested operation";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
    default: return cudaGetErrorName(e);
  }
}
