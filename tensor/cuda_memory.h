// The CUDA side of Storage (compiled only when hemo is built with CUDA). Every call is checked;
// a failure throws hemo::Error naming the CUDA call, the file and the line.
//
// This is the plain cudaMalloc/cudaFree allocator; the caching allocator of the CUDA backend
// replaces cuda_malloc/cuda_free behind the same signatures.
#pragma once
#include <cstddef>

namespace hemo {

void* cuda_malloc(size_t bytes, int device);
void cuda_free(void* ptr, size_t bytes, int device);
void cuda_copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
void cuda_zero(void* dst, size_t bytes);
int cuda_visible_devices();  // 0 when no driver or no device (never throws)

}  // namespace hemo
