// Checked CUDA runtime calls. Every runtime call in hemo goes through HEMO_CUDA_CHECK, and every
// kernel launch goes through HEMO_LAUNCH (kernels/cuda/launch.cuh), which checks it; a failure
// throws hemo::Error naming the call (its source text), the file, the line and the runtime's own
// error name and description. The libraries' checks sit in the one file that calls each library:
// HEMO_CUBLAS_CHECK in kernels/cuda/blas.cpp, HEMO_CUDNN_CHECK in kernels/cuda/conv_cudnn.cpp.
//
// Kernel faults are asynchronous: a bad launch is reported at the launch, but an out-of-bounds
// access shows up at some later call. With HEMO_CUDA_SYNC=1 in the environment every launch check
// also synchronizes the stream, so the error names the kernel that caused it (slow; for debugging).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace hemo::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw_cuda_error(status, call, file, line);
}

// After a launch: cudaGetLastError (and, with HEMO_CUDA_SYNC=1, a stream synchronize).
void check_launch(const char* kernel, const char* file, int line);

// The number of blocks of `threads` threads for a grid-stride loop over n elements: enough to
// fill the GPU, at most one thread per element, at least 1. Callers skip the launch when n == 0.
unsigned grid_for(int64_t n, int threads);

}  // namespace hemo::cuda

#define HEMO_CUDA_CHECK(call) ::hemo::cuda::check_cuda((call), #call, __FILE__, __LINE__)
