// The CUDA side of Storage (compiled only when hemo is built with CUDA). Every call is checked;
// a failure throws hemo::Error naming the CUDA call, the file and the line.
//
// Device memory comes from a caching allocator:
// - Sizes are rounded up (to 512 bytes below 1 MiB, to 128 KiB above) and a freed block goes to a
//   cache kept per (device, stream). A request is served from the cache of its own device and the
//   calling thread's current stream (core/cuda/stream.h) by the smallest cached block that
//   fits with at most 25% to spare; otherwise by the first part of the smallest larger cached
//   block, split (the rest stays cached); otherwise by a new cudaMalloc. A released block merges
//   with its free neighbours of the same cudaMalloc segment, so a segment whose parts are all
//   free is one cached block again; cuda_empty_cache frees whole segments only. Reuse within one
//   stream needs no synchronization: the next user of a block is queued behind the last one.
//   Splitting is what lets a CUDA graph's capture, after warm-up steps, take every block it
//   needs from its stream's cache (train/captured_step.h).
// - Statistics per device: bytes in use and their peak, bytes cached, bytes reserved from the
//   driver (in use + cached) and their peak, cudaMalloc calls, cache hits (and splits),
//   out-of-memory retries.
// - When cudaMalloc runs out of memory, the device's cache is released and the call retried once;
//   if it fails again hemo::OutOfMemory (core/error.h) names the requested size, what hemo holds in
//   use, its peak, what the driver reports free, and suggests a smaller --batch-size. In an
//   emulation build the device's capacity is HEMO_EMU_DEVICE_MB (core/cuda/emu/runtime.cpp).
// - HEMO_NO_CACHING=1 in the environment turns the cache off: every block is a cudaMalloc of the
//   exact size asked for and is cudaFree'd when released, so compute-sanitizer sees each one and
//   flags an access one element past the end.
// - Debug fill: every block handed out is first filled with 0xFF bytes (a NaN in float32), so an
//   output element a kernel forgets to write cannot pass for a right one. On with
//   HEMO_CUDA_POISON=1, or cuda_set_debug_fill(true) (the cuda tests turn it on).
//
// Copies and fills are queued on the current stream; a copy to or from host memory waits for its
// stream to finish before returning, so host buffers may be reused at once; cuda_upload alone
// does not wait, and refuses to run while its stream captures a CUDA graph (a replay would copy
// the staged bytes of the capture again, not the caller's new ones).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hemo {

void* cuda_malloc(size_t bytes, int device);
void cuda_free(void* ptr, size_t bytes, int device);  // never throws
void cuda_copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t bytes);
// An asynchronous host-to-device copy (core/storage.h: upload_bytes): staged through a pinned
// block unless `src` is pinned and owned by `keep`; the pinned memory is held until an event
// recorded after the copy has completed (checked, without waiting, at the next upload). A
// pageable source over 4 MiB is copied synchronously instead (its transfer dominates anyway, and
// the pinned cache would keep a block that size).
void cuda_upload(void* dst, const void* src, size_t bytes, std::shared_ptr<void> keep);
void cuda_zero(void* dst, size_t bytes);
int cuda_visible_devices();  // 0 when no driver or no device (never throws)

struct CudaMemoryStats {
  size_t in_use = 0;         // bytes of blocks handed out (rounded block sizes)
  size_t peak_in_use = 0;
  size_t cached = 0;         // bytes of free blocks kept for reuse
  size_t reserved = 0;       // in_use + cached: what hemo holds from the driver
  size_t peak_reserved = 0;
  uint64_t device_mallocs = 0;  // cudaMalloc calls
  uint64_t cache_hits = 0;      // requests served from the cache
  uint64_t splits = 0;          // of which by a part of a larger cached block
  uint64_t oom_retries = 0;     // times the cache was released to retry a failed cudaMalloc
};
CudaMemoryStats cuda_memory_stats(int device);
void cuda_reset_peak_stats(int device);  // peaks restart from the current values
void cuda_empty_cache();                 // cudaFree every cached block on every device
bool cuda_caching_enabled();             // false under HEMO_NO_CACHING=1
void cuda_set_debug_fill(bool on);
bool cuda_debug_fill();
// Keeps the cached blocks of `stream` (a cudaStream_t) out of cuda_empty_cache() and out of the
// out-of-memory retry's release while held: a captured CUDA graph replays into the blocks its
// capture allocated and freed again, which the cache lists as free blocks of its stream
// (core/cuda/graph.h). Holds nest; each hold needs one release.
void cuda_hold_stream_cache(void* stream);
void cuda_release_stream_cache(void* stream);

// Page-locked host memory (cudaHostAlloc), cached by size like device blocks (cudaHostAlloc is
// slow and cudaFreeHost synchronizes the device). A pinned block must not be released while an
// asynchronous copy from it is still queued; hemo's own copies wait for their stream. Thread-safe.
void* cuda_pinned_malloc(size_t bytes);
void cuda_pinned_free(void* ptr, size_t bytes);  // never throws
size_t cuda_pinned_cached_bytes();

}  // namespace hemo
