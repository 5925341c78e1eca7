// Storage: one reference-counted block of device memory. Tensors (and views of them) share a
// Storage through std::shared_ptr; the block is freed when the last one lets go.
//
// CPU blocks are 64-byte aligned and counted (core/host_memory.h: statistics, a settable limit, and
// hemo::OutOfMemory naming the size asked and the bytes in use when an allocation fails). CUDA blocks come from core/cuda_memory.h (only when hemo is
// built with CUDA); asking for a CUDA block in a CPU-only build is an Error, never a fallback.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "core/dtype.h"

namespace hemo {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// Copies `bytes` between any two devices (host<->device, device<->device, host<->host).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Copies `bytes` of host memory at `src` to `dst` on `device` without waiting for the device: on
// CUDA the copy is queued on the current stream and the call returns at once (a memcpy on the
// CPU). `src` may be reused as soon as the call returns: it is staged through a page-locked block
// unless it is page-locked itself and `keep` owns it; then the copy holds `keep` until the device
// has read it (a data loader's pinned batch: no staging copy, and the buffer does not go back to
// its pool early). A pageable source over 4 MiB is copied synchronously (core/cuda_memory.h).
void upload_bytes(void* dst, Device device, const void* src, size_t bytes, std::shared_ptr<void> keep = {});
// Sets `bytes` bytes at `dst` to zero on its device.
void zero_bytes(void* dst, Device device, size_t bytes);

bool cuda_available();  // built with CUDA and at least one device is visible
int cuda_device_count();
// A --device option's value: "cpu", "cuda" (an error naming the option when no GPU is visible or
// this build has no CUDA) or "auto" (the GPU when there is one; the CPU in a CUDA emulation build,
// where only an explicit "cuda" runs on the emulated device); anything else is an error.
Device resolve_device(const std::string& name);

}  // namespace hemo
