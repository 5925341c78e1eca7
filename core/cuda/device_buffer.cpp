#include "core/cuda/device_buffer.h"

#include <utility>

#include "core/cuda/check.h"
#include "core/cuda_memory.h"

namespace hemo::cuda {

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  HEMO_CUDA_CHECK(cudaGetDevice(&device_));
  if (bytes > 0) ptr_ = cuda_malloc(bytes, device_);
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), device_(o.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    release();
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    device_ = o.device_;
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (ptr_) cuda_free(ptr_, bytes_, device_);
  ptr_ = nullptr;
  bytes_ = 0;
}

}  // namespace hemo::cuda
