#include "core/cuda_memory.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/cuda/block_cache.h"
#include "core/cuda/check.h"
#include "core/cuda/stream.h"
#include "core/error.h"
#include "core/host_memory.h"

namespace hemo {

namespace {

std::string bytes_str(size_t b) { return format_bytes(b); }

std::atomic<bool> g_debug_fill{detail::env_flag("HEMO_CUDA_POISON")};

// Makes `device` current for the calling thread (only when it is not already).
void use_device(int device) {
  int current = -1;
  HEMO_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) HEMO_CUDA_CHECK(cudaSetDevice(device));
}

class DeviceAllocator {
 public:
  void* allocate(size_t bytes, int device) {
    use_device(device);
    const cudaStream_t stream = cuda::current_stream();
    const size_t size = caching_ ? detail::round_block_size(bytes) : std::max<size_t>(bytes, 1);
    void* ptr = nullptr;
    size_t block_size = size;
    {
      std::lock_guard<std::mutex> lock(mu_);
      CudaMemoryStats& st = stats_[device];
      if (caching_) {
        // A cached block of about this size, else the smallest larger one, split.
        detail::CachedBlock b = cache_.take({device, stream}, size);
        if (!b.ptr) b = cache_.take({device, stream}, size, true);
        if (b.ptr) {
          st.cached -= b.size;
          if (b.size > size + size / 4) {
            split_locked(b, size, {device, stream});
            ++st.splits;
            st.cached += b.size - size;
            b.size = size;
          }
          ptr = b.ptr;
          block_size = b.size;
          blocks_.at(ptr).free = false;
          st.in_use += b.size;
          ++st.cache_hits;
        }
      }
      if (!ptr) {
        ptr = device_malloc_locked(size, bytes, device);
        blocks_[ptr] = Block{size, device, stream, ptr, size, false};
        ++st.device_mallocs;
        st.in_use += size;
        st.reserved += size;
      }
      st.peak_in_use = std::max(st.peak_in_use, st.in_use);
      st.peak_reserved = std::max(st.peak_reserved, st.reserved);
    }
    if (g_debug_fill.load(std::memory_order_relaxed)) {
      HEMO_CUDA_CHECK(cudaMemsetAsync(ptr, 0xFF, block_size, stream));
    }
    return ptr;
  }

  void release(void* ptr) noexcept {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(ptr);
    // Not ours, or already free: nothing sensible to do in a destructor path.
    if (it == blocks_.end() || it->second.free) return;
    Block& b = it->second;
    CudaMemoryStats& st = stats_[b.device];
    st.in_use -= b.size;
    if (caching_) {
      st.cached += b.size;
      b.free = true;
      const PoolKey key{b.device, b.stream};
      it = merge_locked(it, key);
      cache_.put(key, it->first, it->second.size);
    } else {
      // cudaFree waits for the device, so queued work that still reads the block finishes first.
      if (cudaFree(ptr) != cudaSuccess) (void)cudaGetLastError();
      st.reserved -= b.size;
      blocks_.erase(it);
    }
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked([](int) { return true; });
  }

  CudaMemoryStats stats(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_[device];
  }

  void reset_peaks(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    CudaMemoryStats& st = stats_[device];
    st.peak_in_use = st.in_use;
    st.peak_reserved = st.reserved;
  }

  bool caching() const { return caching_; }

  void hold(cudaStream_t stream, int delta) {
    std::lock_guard<std::mutex> lock(mu_);
    if ((held_[stream] += delta) <= 0) held_.erase(stream);
  }

 private:
  // A block handed out or cached: a whole cudaMalloc segment, or a piece of one. Pieces of a
  // segment stay in its (device, stream) pool; free neighbours merge on release, so a segment
  // whose pieces are all free is one cached block again, which cuda_empty_cache can free.
  struct Block {
    size_t size;
    int device;
    cudaStream_t stream;
    void* segment;  // the cudaMalloc'd base this block lies in
    size_t segment_size;
    bool free;
  };
  using PoolKey = std::pair<int, cudaStream_t>;
  using Blocks = std::map<void*, Block, std::less<>>;  // by address, so that neighbours are adjacent

  // Cuts the cached block b (taken out of the cache) to `size` bytes; the rest, a free block of
  // the same segment, goes back into the cache. Sizes are multiples of 512 bytes
  // (detail::round_block_size), so every piece stays 512-byte aligned.
  void split_locked(const detail::CachedBlock& b, size_t size, const PoolKey& key) {
    Block& whole = blocks_.at(b.ptr);
    void* rest = static_cast<char*>(b.ptr) + size;
    blocks_[rest] = Block{b.size - size, whole.device, whole.stream, whole.segment, whole.segment_size, true};
    whole.size = size;
    cache_.put(key, rest, b.size - size);
  }

  // Merges the free block at `it` with its free neighbours of the same segment (taking them out of
  // the cache); returns the merged block.
  Blocks::iterator merge_locked(Blocks::iterator it, const PoolKey& key) {
    auto adjacent = [](const Blocks::iterator& a, const Blocks::iterator& b) {
      return a->second.segment == b->second.segment && static_cast<char*>(a->first) + a->second.size == b->first;
    };
    if (auto next = std::next(it); next != blocks_.end() && next->second.free && adjacent(it, next)) {
      cache_.remove(key, next->first, next->second.size);
      it->second.size += next->second.size;
      blocks_.erase(next);
    }
    if (it != blocks_.begin()) {
      auto prev = std::prev(it);
      if (prev->second.free && adjacent(prev, it)) {
        cache_.remove(key, prev->first, prev->second.size);
        prev->second.size += it->second.size;
        blocks_.erase(it);
        it = prev;
      }
    }
    return it;
  }

  // cudaMalloc with one retry after releasing this device's cache.
  void* device_malloc_locked(size_t size, size_t asked, int device) {
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      ++stats_[device].oom_retries;
      release_cached_locked([device](int d) { return d == device; });
      status = cudaMalloc(&ptr, size);
      if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
        const CudaMemoryStats& st = stats_[device];
        throw OutOfMemory(cat("CUDA out of memory on cuda:", device, ": asked for ", bytes_str(asked), " (block ",
                              bytes_str(size), "); hemo's tensors hold ", bytes_str(st.in_use), " in use, peak ",
                              bytes_str(st.peak_in_use), "; the driver reports ", bytes_str(free_b), " free of ",
                              bytes_str(total_b), ". The cache was released and the allocation retried once. "
                              "Try a smaller --batch-size (or --input-size)."));
      }
    }
    check_cuda_call(status, size);
    return ptr;
  }

  static void check_cuda_call(cudaError_t status, size_t size) {
    if (status != cudaSuccess)
      cuda::throw_cuda_error(status, cat("cudaMalloc(", size, " bytes)").c_str(), __FILE__, __LINE__);
  }

  // cudaFree for every cached block that is a whole segment; pieces of segments still partly in
  // use go back into the cache.
  template <class Pred>
  void release_cached_locked(Pred on_device) {
    auto drained = cache_.drain([&](const PoolKey& k) { return on_device(k.first) && !held_.contains(k.second); });
    for (const auto& [key, b] : drained) {
      const Block& block = blocks_.at(b.ptr);
      if (block.segment != b.ptr || block.segment_size != b.size) {
        cache_.put(key, b.ptr, b.size);
        continue;
      }
      blocks_.erase(b.ptr);
      CudaMemoryStats& st = stats_[key.first];
      st.cached -= b.size;
      st.reserved -= b.size;
      HEMO_CUDA_CHECK(cudaFree(b.ptr));
    }
  }

  std::mutex mu_;
  const bool caching_ = !detail::env_flag("HEMO_NO_CACHING");
  detail::BlockCache<PoolKey> cache_;
  Blocks blocks_;  // every block hemo holds: in use and cached
  std::unordered_map<int, CudaMemoryStats> stats_;
  std::unordered_map<cudaStream_t, int> held_;  // streams whose cached blocks a captured graph uses
};

// Never destroyed: tensors and cached blocks may outlive static destructors, and freeing device
// memory after the CUDA runtime has shut down fails. The driver reclaims everything at exit.
DeviceAllocator& device_allocator() {
  static DeviceAllocator* a = new DeviceAllocator;
  return *a;
}

}  // namespace

void* cuda_malloc(size_t bytes, int device) { return device_allocator().allocate(bytes, device); }

void cuda_free(void* ptr, size_t /*bytes*/, int /*device*/) { device_allocator().release(ptr); }

void cuda_copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                            : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const cudaStream_t stream = cuda::current_stream();
  HEMO_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  if (!dst_on_device || !src_on_device) HEMO_CUDA_CHECK(cudaStreamSynchronize(stream));
}

namespace {
// Host memory that queued uploads still read, each with an event recorded after its copy; an
// entry goes (and its memory back to its owner) once its event has completed. Never destroyed:
// entries may remain at exit, when the CUDA runtime may already be gone.
struct PendingUploads {
  std::mutex mu;
  std::deque<std::pair<cudaEvent_t, std::shared_ptr<void>>> queue;

  void release_completed() {  // mu held
    while (!queue.empty() && cudaEventQuery(queue.front().first) == cudaSuccess) {
      (void)cudaEventDestroy(queue.front().first);
      queue.pop_front();
    }
    (void)cudaGetLastError();  // a cudaErrorNotReady from the query is no error
  }
};
PendingUploads& pending_uploads() {
  static auto* p = new PendingUploads;
  return *p;
}

bool is_pinned(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return a.type == cudaMemoryTypeHost;
}
}  // namespace

// Larger pageable uploads are copied synchronously rather than held in the pinned cache.
constexpr size_t kMaxStagedUpload = size_t{4} << 20;

void cuda_upload(void* dst, const void* src, size_t bytes, std::shared_ptr<void> keep) {
  if (bytes == 0) return;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  HEMO_CUDA_CHECK(cudaStreamIsCapturing(cuda::current_stream(), &capturing));
  HEMO_CHECK(capturing == cudaStreamCaptureStatusNone,
             "an upload of ", bytes, " bytes of host data inside a CUDA graph capture: every replay would copy the "
             "bytes staged at capture again. Copy a step's changing inputs into fixed device buffers before the "
             "replay instead (core/cuda/graph.h)");
  std::shared_ptr<void> held = std::move(keep);
  if (!held || !is_pinned(src)) {  // stage: the caller may reuse src at once
    if (bytes > kMaxStagedUpload) {  // a large copy costs its transfer anyway: no pinned block that big
      cuda_copy(dst, true, src, false, bytes);
      return;
    }
    void* staging = cuda_pinned_malloc(bytes);
    std::memcpy(staging, src, bytes);
    held = std::shared_ptr<void>(staging, [bytes](void* q) { cuda_pinned_free(q, bytes); });
    src = staging;
  }
  const cudaStream_t stream = cuda::current_stream();
  HEMO_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  cudaEvent_t done = nullptr;
  HEMO_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  HEMO_CUDA_CHECK(cudaEventRecord(done, stream));
  PendingUploads& p = pending_uploads();
  std::lock_guard<std::mutex> lock(p.mu);
  p.release_completed();
  p.queue.emplace_back(done, std::move(held));
}

void cuda_zero(void* dst, size_t bytes) {
  if (bytes == 0) return;
  HEMO_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cuda::current_stream()));
}

int cuda_visible_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

CudaMemoryStats cuda_memory_stats(int device) { return device_allocator().stats(device); }
void cuda_reset_peak_stats(int device) { device_allocator().reset_peaks(device); }
void cuda_empty_cache() { device_allocator().empty_cache(); }
bool cuda_caching_enabled() { return device_allocator().caching(); }
void cuda_set_debug_fill(bool on) { g_debug_fill.store(on); }
void cuda_hold_stream_cache(void* stream) { device_allocator().hold(static_cast<cudaStream_t>(stream), 1); }
void cuda_release_stream_cache(void* stream) { device_allocator().hold(static_cast<cudaStream_t>(stream), -1); }
bool cuda_debug_fill() { return g_debug_fill.load(); }

}  // namespace hemo
