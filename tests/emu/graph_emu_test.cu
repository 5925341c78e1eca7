// The emulator's stream capture and graphs (core/cuda/emu/runtime.cpp), at the runtime API: a
// capturing stream records kernels (their parameters by value), pinned copies, fills and events
// without running them; a graph launch replays them in order and is no host synchronization; the
// calls CUDA prohibits during a capture fail with CUDA's error and invalidate the capture.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {
namespace {

// y[i] = a * x[i] + b, then y[i] *= y[i] (two kernels, so order matters).
__global__ void affine_kernel(int n, float a, float b, const float* x, float* y) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = a * x[i] + b;
}
__global__ void square_kernel(int n, float* y) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = y[i] * y[i];
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> mag(0.1f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = (gen() & 1 ? -1.f : 1.f) * mag(gen);
  return v;
}

// A stream made current for the test's scope, destroyed at its end.
struct TestStream {
  cudaStream_t s = nullptr;
  explicit TestStream(unsigned flags = cudaStreamDefault) { REQUIRE(cudaStreamCreateWithFlags(&s, flags) == cudaSuccess); }
  ~TestStream() { (void)cudaStreamDestroy(s); }
};

cudaStreamCaptureStatus status_of(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  REQUIRE(cudaStreamIsCapturing(s, &st) == cudaSuccess);
  return st;
}

constexpr int kN = 300;  // two blocks of 256, the second partly idle

TEST_CASE("a captured stream records kernels, pinned copies, fills and events; the graph replays them") {
  TestStream ts;
  StreamGuard guard(ts.s);
  float *hin = nullptr, *hout = nullptr, *din = nullptr, *dout = nullptr;
  REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&hin), kN * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&hout), kN * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&din), kN * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&dout), kN * sizeof(float)) == cudaSuccess);
  cudaEvent_t done = nullptr;
  REQUIRE(cudaEventCreate(&done) == cudaSuccess);

  const std::vector<float> x1 = random_floats(kN, 1), x2 = random_floats(kN, 2);
  std::memcpy(hin, x1.data(), kN * sizeof(float));
  for (int i = 0; i < kN; ++i) hout[i] = -7.f;  // what must still be there after the capture
  REQUIRE(cudaMemset(dout, 0, kN * sizeof(float)) == cudaSuccess);

  // The kernel's scale is a local that changes after the capture: the graph keeps the value.
  float a = 1.5f;
  REQUIRE(cudaStreamBeginCapture(ts.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
  CHECK(status_of(ts.s) == cudaStreamCaptureStatusActive);
  REQUIRE(cudaMemcpyAsync(din, hin, kN * sizeof(float), cudaMemcpyHostToDevice, ts.s) == cudaSuccess);
  REQUIRE(cudaMemsetAsync(dout, 0xFF, kN * sizeof(float), ts.s) == cudaSuccess);
  HEMO_LAUNCH(affine_kernel, 2, 256, 0, kN, a, 0.25f, din, dout);
  HEMO_LAUNCH(square_kernel, 2, 256, 0, kN, dout);
  REQUIRE(cudaEventRecord(done, ts.s) == cudaSuccess);
  CHECK(cudaEventQuery(done) == cudaErrorCapturedEvent);  // an event recorded by a capture
  (void)cudaGetLastError();
  REQUIRE(cudaStreamWaitEvent(ts.s, done, 0) == cudaSuccess);
  REQUIRE(cudaMemcpyAsync(hout, dout, kN * sizeof(float), cudaMemcpyDeviceToHost, ts.s) == cudaSuccess);
  cudaGraph_t graph = nullptr;
  REQUIRE(cudaStreamEndCapture(ts.s, &graph) == cudaSuccess);
  REQUIRE(graph != nullptr);
  CHECK(status_of(ts.s) == cudaStreamCaptureStatusNone);
  a = 100.f;

  // Nothing ran at capture time.
  size_t untouched = 0;
  for (int i = 0; i < kN; ++i) untouched += hout[i] == -7.f && dout[i] == 0.f && din[i] != x1[static_cast<size_t>(i)];
  CHECK(untouched == static_cast<size_t>(kN));

  cudaGraphExec_t exec = nullptr;
  REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
  REQUIRE(cudaGraphDestroy(graph) == cudaSuccess);  // the exec does not need it
  for (const std::vector<float>* x : {&x1, &x2, &x1}) {
    std::memcpy(hin, x->data(), kN * sizeof(float));  // the same pinned address, new values
    const uint64_t syncs = emu::host_syncs();
    REQUIRE(cudaGraphLaunch(exec, ts.s) == cudaSuccess);
    CHECK(emu::host_syncs() == syncs);  // a graph launch waits for nothing
    size_t wrong = 0;
    for (size_t i = 0; i < kN; ++i) {
      const float y = 1.5f * (*x)[i] + 0.25f, want = y * y;
      wrong += std::memcmp(&hout[i], &want, sizeof(float)) != 0;
    }
    CHECK_MESSAGE(wrong == 0, wrong, " of ", kN, " outputs differ from (1.5 x + 0.25)^2");
  }
  CHECK(cudaEventQuery(done) == cudaSuccess);  // recorded by the replays, an ordinary event again

  // A replay checks its copies' pointers as an eager copy would: the device input is gone now.
  REQUIRE(cudaFree(din) == cudaSuccess);
  CHECK(cudaGraphLaunch(exec, ts.s) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGraphExecDestroy(exec) == cudaSuccess);
  CHECK(cudaGraphExecDestroy(exec) == cudaErrorInvalidResourceHandle);  // stale handle
  (void)cudaGetLastError();
  (void)cudaEventDestroy(done);
  (void)cudaFree(dout);
  (void)cudaFreeHost(hin);
  (void)cudaFreeHost(hout);
}

// The CUDA error a launch's check threw (HEMO_LAUNCH consumes the last error), by its name.
cudaError_t launch_error(const std::function<void()>& launch) {
  try {
    launch();
  } catch (const Error& e) {
    for (cudaError_t c : {cudaErrorStreamCaptureImplicit, cudaErrorInvalidConfiguration})
      if (std::string(e.what()).find(cudaGetErrorName(c)) != std::string::npos) return c;
    return cudaErrorLaunchFailure;
  }
  return cudaSuccess;
}

// Begins a capture on `s` in `mode`, runs `call` (expecting `error`), and checks the capture is
// invalidated: cudaStreamEndCapture says so and hands back no graph.
template <class Call>
void check_prohibited(const char* what, cudaStream_t s, cudaStreamCaptureMode mode, cudaError_t error, Call call,
                      bool launch = false) {
  const std::string name = what;
  CAPTURE(name);
  REQUIRE(cudaStreamBeginCapture(s, mode) == cudaSuccess);
  const cudaError_t e = call();
  CHECK_MESSAGE(e == error, what, ": ", cudaGetErrorName(e), " instead of ", cudaGetErrorName(error));
  if (!launch) CHECK(cudaGetLastError() == error);  // also the last error, as CUDA's calls leave it
  CHECK(status_of(s) == cudaStreamCaptureStatusInvalidated);
  cudaGraph_t graph = reinterpret_cast<cudaGraph_t>(1);
  CHECK(cudaStreamEndCapture(s, &graph) == cudaErrorStreamCaptureInvalidated);
  CHECK(graph == nullptr);
  CHECK(status_of(s) == cudaStreamCaptureStatusNone);
  (void)cudaGetLastError();
}

TEST_CASE("host synchronizations and allocations during a capture fail as CUDA's do and invalidate it") {
  float *d = nullptr, *pinned = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&d), 64 * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&pinned), 64 * sizeof(float)) == cudaSuccess);
  std::vector<float> pageable(64, 1.f);
  cudaEvent_t ev = nullptr;
  REQUIRE(cudaEventCreate(&ev) == cudaSuccess);
  REQUIRE(cudaEventRecord(ev, nullptr) == cudaSuccess);
  const uint64_t syncs = emu::host_syncs();

  for (unsigned flags : {cudaStreamDefault, cudaStreamNonBlocking}) {
    CAPTURE(flags);
    TestStream ts(flags);
    const cudaStream_t s = ts.s;
    const cudaStreamCaptureMode global = cudaStreamCaptureModeGlobal;
    const cudaError_t unsupported = cudaErrorStreamCaptureUnsupported;
    check_prohibited("cudaStreamSynchronize", s, global, unsupported, [&] { return cudaStreamSynchronize(s); });
    check_prohibited("cudaStreamSynchronize (relaxed)", s, cudaStreamCaptureModeRelaxed, unsupported,
                     [&] { return cudaStreamSynchronize(s); });
    check_prohibited("cudaStreamQuery", s, global, unsupported, [&] { return cudaStreamQuery(s); });
    check_prohibited("cudaDeviceSynchronize", s, global, unsupported, [] { return cudaDeviceSynchronize(); });
    check_prohibited("cudaEventSynchronize", s, global, unsupported, [&] { return cudaEventSynchronize(ev); });
    check_prohibited("pageable cudaMemcpyAsync", s, global, unsupported, [&] {
      return cudaMemcpyAsync(d, pageable.data(), 64 * sizeof(float), cudaMemcpyHostToDevice, s);
    });
    check_prohibited("cudaMalloc", s, global, unsupported, [] {
      void* p = nullptr;
      return cudaMalloc(&p, 256);
    });
    check_prohibited("cudaMalloc (thread-local)", s, cudaStreamCaptureModeThreadLocal, unsupported, [] {
      void* p = nullptr;
      return cudaMalloc(&p, 256);
    });
    check_prohibited("cudaFree", s, global, unsupported, [&] { return cudaFree(d); });
    // The blocking copy runs on the legacy stream: a blocking stream's capture makes that an
    // implicit dependency; a non-blocking one's prohibits it as unsafe.
    check_prohibited("cudaMemcpy", s, global, flags == cudaStreamDefault ? cudaErrorStreamCaptureImplicit : unsupported,
                     [&] { return cudaMemcpy(pinned, d, 64 * sizeof(float), cudaMemcpyDeviceToHost); });
    if (flags == cudaStreamDefault) {
      check_prohibited(
          "a launch on the legacy stream", s, global, cudaErrorStreamCaptureImplicit,
          [&] {
            StreamGuard legacy(nullptr);
            return launch_error([&] { HEMO_LAUNCH(square_kernel, 1, 64, 0, 64, d); });
          },
          true);
      check_prohibited("cudaMemsetAsync on the legacy stream", s, global, cudaErrorStreamCaptureImplicit,
                       [&] { return cudaMemsetAsync(d, 0, 64, nullptr); });
    }
    check_prohibited(
        "a launch with a bad configuration", s, global, cudaErrorInvalidConfiguration,
        [&] {
          StreamGuard guard(s);
          return launch_error([&] { HEMO_LAUNCH(square_kernel, 1, 2048, 0, 64, d); });
        },
        true);

    // Relaxed mode allows the potentially unsafe calls (an allocation), and the capture goes on.
    REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed) == cudaSuccess);
    void* p = nullptr;
    CHECK(cudaMalloc(&p, 256) == cudaSuccess);
    CHECK(cudaFree(p) == cudaSuccess);
    cudaGraph_t graph = nullptr;
    CHECK(cudaStreamEndCapture(s, &graph) == cudaSuccess);
    CHECK(cudaGraphDestroy(graph) == cudaSuccess);

    // After a failed capture the stream (and the legacy stream) work as before.
    CHECK(cudaMemcpyAsync(d, pinned, 64 * sizeof(float), cudaMemcpyHostToDevice, s) == cudaSuccess);
    CHECK(cudaMemcpy(pinned, d, 64 * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  }
  // None of the refused calls counted as a host synchronization (only the last cudaMemcpys did).
  CHECK(emu::host_syncs() == syncs + 2);

  // The legacy stream cannot capture; nor can a stream capture twice; nor end a capture it has not.
  CHECK(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal) == cudaErrorStreamCaptureUnsupported);
  TestStream ts;
  cudaGraph_t graph = nullptr;
  CHECK(cudaStreamEndCapture(ts.s, &graph) == cudaErrorIllegalState);
  REQUIRE(cudaStreamBeginCapture(ts.s, cudaStreamCaptureModeGlobal) == cudaSuccess);
  CHECK(cudaStreamBeginCapture(ts.s, cudaStreamCaptureModeGlobal) == cudaErrorIllegalState);
  cudaStreamCaptureStatus st{};
  CHECK(cudaStreamIsCapturing(nullptr, &st) == cudaErrorStreamCaptureImplicit);  // asks, invalidates nothing
  CHECK(status_of(ts.s) == cudaStreamCaptureStatusActive);
  CHECK(cudaStreamEndCapture(ts.s, &graph) == cudaSuccess);
  CHECK(cudaGraphDestroy(graph) == cudaSuccess);
  (void)cudaGetLastError();
  (void)cudaEventDestroy(ev);
  (void)cudaFree(d);
  (void)cudaFreeHost(pinned);
}

}  // namespace
}  // namespace hemo::cuda
