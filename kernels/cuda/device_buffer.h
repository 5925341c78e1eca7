// Scratch device memory for kernels and library calls (cuDNN workspaces, partial sums).
//
// kernels/ sits below tensor/, where the caching allocator lives, so the allocator is handed down
// through a hook: tensor/ installs its allocate/free pair at start-up, and every DeviceBuffer then
// comes from the same cache as tensors do (counted in its statistics, and stream-ordered: freeing a
// buffer right after queuing the work that uses it is safe, since the next user of the block runs
// on the same stream). Until a hook is installed, plain cudaMalloc/cudaFree are used.
#pragma once
#include <cstddef>

namespace hemo::cuda {

using DeviceAllocFn = void* (*)(size_t bytes, int device);
using DeviceFreeFn = void (*)(void* ptr, size_t bytes, int device);
void set_device_allocator(DeviceAllocFn alloc, DeviceFreeFn free);

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);  // on the current device; nothing allocated for 0 bytes
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void release() noexcept;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

}  // namespace hemo::cuda
