// Scratch device memory for kernels and library calls (cuDNN workspaces, partial sums), from the
// caching allocator of core/cuda_memory.h like every tensor's block: counted in its statistics and
// stream-ordered (freeing a buffer right after queuing the work that uses it is safe, since the
// next user of the block runs on the same stream).
#pragma once
#include <cstddef>

namespace hemo::cuda {

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
