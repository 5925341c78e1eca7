#include "tensor/cuda_memory.h"

#include <cuda_runtime.h>

#include "tensor/error.h"

namespace hemo {

namespace {
void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess)
    throw Error(cat(call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
                    cudaGetErrorString(status), ")"));
}
#define HEMO_CUDA_CHECK(call) check((call), #call, __FILE__, __LINE__)
}  // namespace

void* cuda_malloc(size_t bytes, int device) {
  HEMO_CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 1 : bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error(cat("CUDA out of memory allocating ", bytes, " bytes on cuda:", device));
  }
  HEMO_CUDA_CHECK(status);
  return ptr;
}

void cuda_free(void* ptr, size_t /*bytes*/, int /*device*/) { cudaFree(ptr); }

void cuda_copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                      : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  HEMO_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

void cuda_zero(void* dst, size_t bytes) { HEMO_CUDA_CHECK(cudaMemset(dst, 0, bytes)); }

int cuda_visible_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

}  // namespace hemo
