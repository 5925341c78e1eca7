#include "core/cuda/check.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/cuda/stream.h"
#include "core/error.h"

namespace hemo::cuda {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // Clears the error if it is not sticky, so the process can report it and go on.
  (void)cudaGetLastError();
  throw Error(cat("CUDA error: ", call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
                  cudaGetErrorString(status), ")"));
}

namespace {
bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("HEMO_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0 && v[0] != '\0';
  }();
  return on;
}
}  // namespace

void check_launch(const char* kernel, const char* file, int line) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, kernel, file, line);
  if (sync_after_launch()) {
    status = cudaStreamSynchronize(current_stream());
    if (status != cudaSuccess) throw_cuda_error(status, kernel, file, line);
  }
}

unsigned grid_for(int64_t n, int threads) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> sm_count[kMaxDevices] = {};
  int device = 0;
  HEMO_CUDA_CHECK(cudaGetDevice(&device));
  int sms = device < kMaxDevices ? sm_count[device].load(std::memory_order_relaxed) : 0;
  if (sms == 0) {
    HEMO_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    if (device < kMaxDevices) sm_count[device].store(sms, std::memory_order_relaxed);
  }
  // 32 blocks per multiprocessor keeps every SM busy; grid-stride loops cover the rest.
  const int64_t wanted = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(sms) * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, cap)));
}

}  // namespace hemo::cuda
