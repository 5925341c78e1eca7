// The CPU allocator behind Storage: 64-byte aligned blocks from the C heap, counted.
//
// Statistics: bytes of blocks in use (sizes rounded up to 64), their peak, allocation calls.
// A limit (0: none) makes out-of-memory reproducible: HEMO_HOST_MEMORY_MB in the environment (read
// once, at the first allocation) or set_host_memory_limit() (tests). A request that would take
// the bytes in use past it fails exactly as a failing heap does.
//
// Failure throws hemo::OutOfMemory (core/error.h), never returns null and never aborts:
//   "out of host memory: asked for 96.00 MiB (100663296 bytes); hemo's tensors hold 1.20 GiB ...,
//    peak ...; [the limit is ... (HEMO_HOST_MEMORY_MB)]. Try a smaller --batch-size (or --input-size)."
// out_of_host_memory_message(asked) builds the same text for a std::bad_alloc caught elsewhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hemo {

void* host_malloc(size_t bytes);
void host_free(void* ptr, size_t bytes) noexcept;

struct HostMemoryStats {
  size_t in_use = 0;  // bytes of Storage blocks handed out (rounded to 64)
  size_t peak_in_use = 0;
  uint64_t allocations = 0;
  size_t limit = 0;  // 0: none
};
HostMemoryStats host_memory_stats();
void set_host_memory_limit(size_t bytes);  // 0 removes it

// "12.50 MiB (13107200 bytes)": how every out-of-memory message writes a size.
std::string format_bytes(size_t bytes);
// asked = 0: the size is unknown (a std::bad_alloc from a container).
std::string out_of_host_memory_message(size_t asked);

}  // namespace hemo
