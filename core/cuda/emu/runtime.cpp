// The CUDA runtime calls hemo makes, served on the CPU for the emulation build. One emulated device
// with an H100's properties (132 multiprocessors, compute capability 9.0); device memory is
// exact-size heap blocks (so AddressSanitizer sees one element past the end) counted against an
// emulated capacity (HEMO_EMU_DEVICE_MB, default 16384) so out-of-memory paths run; copies and
// fills check that device pointers lie inside a live allocation, as CUDA's would fail on them.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "core/cuda/emu/grid.h"

struct CUstream_st {
  unsigned flags = 0;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point at{};
  bool recorded = false;
};

namespace {

constexpr int kDevices = 1;

struct Memory {
  std::mutex mu;
  std::map<uintptr_t, size_t> device, pinned;  // start -> bytes
  size_t device_bytes = 0;
  std::set<CUstream_st*> streams;
  std::set<CUevent_st*> events;
};
Memory& memory() {
  static Memory* m = new Memory;  // never destroyed: frees may come from static destructors
  return *m;
}

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

cudaError_t fail(cudaError_t e) {
  tl_last = e;
  return e;
}

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

cudaError_t copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return fail(e);
  std::memmove(dst, src, bytes);
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

void launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
            void (*body)(void*), void* ctx) {
  const std::string bad = launch_error(grid, block, shared_bytes);
  if (!bad.empty()) {
    std::lock_guard lock(g_fault_mu);
    g_fault = "invalid launch configuration of kernel '" + std::string(kernel) + "': " + bad;
    tl_last = cudaErrorInvalidConfiguration;
    return;
  }
  const std::string fault = run_grid(kernel, file, line, grid, block, shared_bytes, body, ctx);
  if (!fault.empty()) {
    std::lock_guard lock(g_fault_mu);
    g_fault = fault;
    tl_last = cudaErrorLaunchFailure;
  }
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
  hemo::emu::count_host_sync();
  return copy(dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (bytes > 0 && pageable_side(dst, src, bytes, kind)) hemo::emu::count_host_sync();
  return copy(dst, src, bytes, kind, stream);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (!valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!on_device(dst, bytes)) return fail(cudaErrorInvalidValue);
  std::memset(dst, value, bytes);
  return cudaSuccess;
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
  return create_handle(stream, &Memory::streams, new CUstream_st{flags});
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) { return destroy_handle(stream, &Memory::streams); }
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  hemo::emu::count_host_sync();
  return cudaStreamQuery(stream);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  return valid_stream(stream) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t, unsigned) { return cudaStreamQuery(stream); }

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  return create_handle(event, &Memory::events, new CUevent_st);
}
cudaError_t cudaEventDestroy(cudaEvent_t event) { return destroy_handle(event, &Memory::events); }
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event || !valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle);
  event->at = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  hemo::emu::count_host_sync();
  return cudaEventQuery(event);
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return event ? cudaSuccess : fail(cudaErrorInvalidResourceHandle); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end) return fail(cudaErrorInvalidResourceHandle);
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
    default: return cudaGetErrorName(e);
  }
}
