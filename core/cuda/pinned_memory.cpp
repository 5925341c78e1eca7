// Page-locked host memory for the loader's batches, cached by size (core/cuda_memory.h).
#include <cuda_runtime.h>

#include <mutex>
#include <unordered_map>

#include "core/cuda/block_cache.h"
#include "core/cuda/check.h"
#include "core/cuda_memory.h"

namespace hemo {

namespace {

class PinnedAllocator {
 public:
  void* allocate(size_t bytes) {
    const size_t size = caching_ ? detail::round_block_size(bytes) : (bytes == 0 ? 1 : bytes);
    std::lock_guard<std::mutex> lock(mu_);
    if (caching_) {
      detail::CachedBlock b = cache_.take(0, size);
      if (b.ptr) return b.ptr;
    }
    void* ptr = nullptr;
    HEMO_CUDA_CHECK(cudaHostAlloc(&ptr, size, cudaHostAllocDefault));
    sizes_[ptr] = size;
    return ptr;
  }

  void release(void* ptr) noexcept {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(ptr);
    if (it == sizes_.end()) return;
    if (caching_) {
      cache_.put(0, ptr, it->second);
    } else {
      if (cudaFreeHost(ptr) != cudaSuccess) (void)cudaGetLastError();
      sizes_.erase(it);
    }
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.bytes();
  }

 private:
  std::mutex mu_;
  const bool caching_ = !detail::env_flag("HEMO_NO_CACHING");
  detail::BlockCache<int> cache_;  // one pool
  std::unordered_map<void*, size_t> sizes_;
};

PinnedAllocator& pinned_allocator() {
  static PinnedAllocator* a = new PinnedAllocator;  // never destroyed, as the device allocator
  return *a;
}

}  // namespace

void* cuda_pinned_malloc(size_t bytes) { return pinned_allocator().allocate(bytes); }
void cuda_pinned_free(void* ptr, size_t /*bytes*/) { pinned_allocator().release(ptr); }
size_t cuda_pinned_cached_bytes() { return pinned_allocator().cached_bytes(); }

}  // namespace hemo
