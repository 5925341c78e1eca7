#include "core/host_memory.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace hemo {

namespace {

constexpr size_t kAlignment = 64;

std::atomic<size_t> g_in_use{0}, g_peak{0};
std::atomic<uint64_t> g_allocations{0};

std::atomic<size_t>& limit_bytes() {
  static std::atomic<size_t> limit{[] {
    const char* v = std::getenv("HEMO_HOST_MEMORY_MB");
    return v && *v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) << 20 : size_t{0};
  }()};
  return limit;
}

// glibc serves blocks above M_MMAP_THRESHOLD with a fresh mmap and unmaps them on free, so every
// large activation of every training step page-faults its way in again: for a conv layer's
// 40 MB output the faults cost as much as the GEMM. Keeping such blocks in the heap (and not
// trimming it) lets the next step reuse them, as a caching allocator would. Set once, before the
// first CPU tensor.
void tune_malloc_once() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1024 << 20);
    return true;
  }();
  (void)done;
}

// Takes `rounded` bytes of the budget; false (nothing taken) when that would pass the limit.
bool reserve(size_t rounded) {
  const size_t limit = limit_bytes().load(std::memory_order_relaxed);
  size_t now = g_in_use.load(std::memory_order_relaxed);
  do {
    if (limit != 0 && (rounded > limit || now > limit - rounded)) return false;
  } while (!g_in_use.compare_exchange_weak(now, now + rounded, std::memory_order_relaxed));
  size_t peak = g_peak.load(std::memory_order_relaxed);
  while (now + rounded > peak && !g_peak.compare_exchange_weak(peak, now + rounded, std::memory_order_relaxed)) {
  }
  return true;
}

size_t rounded_size(size_t bytes) {
  return bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

}  // namespace

std::string format_bytes(size_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (bytes >= (size_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
  else
    std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1024.0 * 1024.0));
  return cat(buf, " (", bytes, " bytes)");
}

std::string out_of_host_memory_message(size_t asked) {
  const HostMemoryStats st = host_memory_stats();
  std::string m = asked ? cat("out of host memory: asked for ", format_bytes(asked))
                        : std::string("out of host memory (std::bad_alloc)");
  m += cat("; hemo's tensors hold ", format_bytes(st.in_use), ", peak ", format_bytes(st.peak_in_use));
  if (st.limit) m += cat("; the limit is ", format_bytes(st.limit), " (HEMO_HOST_MEMORY_MB)");
  return m + ". Try a smaller --batch-size (or --input-size).";
}

void* host_malloc(size_t bytes) {
  tune_malloc_once();
  if (bytes > SIZE_MAX - kAlignment) throw OutOfMemory(out_of_host_memory_message(bytes));
  const size_t rounded = rounded_size(bytes);
  if (!reserve(rounded)) throw OutOfMemory(out_of_host_memory_message(bytes));
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) {
    g_in_use.fetch_sub(rounded, std::memory_order_relaxed);
    throw OutOfMemory(out_of_host_memory_message(bytes));
  }
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void host_free(void* ptr, size_t bytes) noexcept {
  if (!ptr) return;
  std::free(ptr);
  g_in_use.fetch_sub(rounded_size(bytes), std::memory_order_relaxed);
}

HostMemoryStats host_memory_stats() {
  return {g_in_use.load(), g_peak.load(), g_allocations.load(), limit_bytes().load()};
}

void set_host_memory_limit(size_t bytes) { limit_bytes().store(bytes); }

}  // namespace hemo
