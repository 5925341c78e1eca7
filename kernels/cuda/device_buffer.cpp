#include "kernels/cuda/device_buffer.h"

#include <atomic>
#include <utility>

#include "kernels/cuda/check.h"

namespace hemo::cuda {

namespace {
void* plain_alloc(size_t bytes, int device) {
  HEMO_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  HEMO_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}
void plain_free(void* ptr, size_t, int) { (void)cudaFree(ptr); }

std::atomic<DeviceAllocFn> g_alloc{plain_alloc};
std::atomic<DeviceFreeFn> g_free{plain_free};
}  // namespace

void set_device_allocator(DeviceAllocFn alloc, DeviceFreeFn free) {
  g_alloc.store(alloc);
  g_free.store(free);
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  HEMO_CUDA_CHECK(cudaGetDevice(&device_));
  if (bytes > 0) ptr_ = g_alloc.load()(bytes, device_);
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
  if (ptr_) g_free.load()(ptr_, bytes_, device_);
  ptr_ = nullptr;
  bytes_ = 0;
}

}  // namespace hemo::cuda
