// hemo's CUDA emulator stands in for the CUDA runtime header in a -DHEMO_CUDA=EMULATE build: the
// device side (core/cuda/emu/device.h) and the part of the runtime API hemo calls, served on
// the CPU by core/cuda/emu/runtime.cpp. Everything is synchronous: a call that CUDA queues on a
// stream has finished when it returns, which keeps every ordering CUDA promises. The one
// exception is stream capture (cudaStreamBeginCapture): a capturing stream records its work as
// the nodes of a graph instead, and cudaGraphLaunch runs them, in order, when the graph replays.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "core/cuda/emu/device.h"

#define HEMO_CUDA_EMULATED 1

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorLaunchFailure = 719,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorCapturedEvent = 907,
  cudaErrorStreamCaptureWrongThread = 908,
};
typedef cudaError cudaError_t;

struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;
struct CUgraph_st;
typedef CUgraph_st* cudaGraph_t;
struct CUgraphExec_st;
typedef CUgraphExec_st* cudaGraphExec_t;

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3,
};
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxThreadsPerMultiProcessor = 39,
  cudaDevAttrL2CacheSize = 38,
};
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
  int maxThreadsPerMultiProcessor;
  int l2CacheSize;
  int memoryBusWidth;
};

constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocDefault = 0;
constexpr unsigned cudaEventDefault = 0, cudaEventDisableTiming = 2;

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);

cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr);

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaMemset2DAsync(void* dst, size_t pitch, int value, size_t width, size_t height,
                              cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);  // always done (cudaSuccess) for a valid stream
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

// Stream capture and graphs (CUDA 12/13 signatures). The emulator captures one stream at a time
// per capture sequence (no fork/join through events into other streams), and a graph is the
// recorded sequence of that stream's work. During a capture that is not relaxed, the calls
// CUDA prohibits (potentially unsafe ones: cudaMalloc, cudaFree, cudaFreeHost, the blocking
// cudaMemcpy/cudaMemset, cudaDeviceSynchronize; and always synchronizing or querying the capturing
// stream, a pageable-host cudaMemcpyAsync into it) fail with cudaErrorStreamCaptureUnsupported and
// invalidate the capture; work on the legacy stream while a blocking stream captures fails with
// cudaErrorStreamCaptureImplicit and invalidates it too. cudaStreamEndCapture then returns
// cudaErrorStreamCaptureInvalidated and no graph.
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);

namespace hemo::emu {
// A kernel launch's work: run(ctx) is one CUDA thread's call of the kernel on the parameters in
// *ctx; keep(ctx) makes an owned copy of them, which a captured launch holds until its graph goes.
struct KernelBody {
  void (*run)(void* ctx);
  void* ctx;
  std::shared_ptr<void> (*keep)(const void* ctx);
};
// The launch path of kernels/cuda/launch.cuh: checks the configuration as CUDA would, then runs the
// grid (core/cuda/emu/grid.h) on `stream` (or records it, while the stream captures), and leaves
// the outcome for cudaGetLastError.
void launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, const KernelBody& body);
// Queued work that is not a kernel (the cuBLAS/cuDNN stand-ins of kernels/cuda/emu/libraries.cpp):
// runs `work` now or, while `stream` captures, records it as a node of the graph. Returns what an
// asynchronous call on `stream` would (an invalid stream, a legacy-stream call during a capture).
cudaError_t enqueue(cudaStream_t stream, std::function<void()> work);
// Device memory the emulator has handed out and not freed: bytes and blocks (for tests).
size_t device_bytes_in_use();
// Says once per process, on standard error, what this build emulates and what it replaces.
void announce();
// Host synchronizations so far: the calls after which a real GPU's host thread would have waited
// for the device (for tests that a training step makes none): cudaStreamSynchronize,
// cudaDeviceSynchronize, cudaEventSynchronize, the blocking cudaMemcpy, and a cudaMemcpyAsync
// whose host side is not page-locked (CUDA stages pageable memory synchronously).
uint64_t host_syncs();
}  // namespace hemo::emu
