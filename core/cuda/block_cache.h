// The free-block cache shared by the device and the pinned-host allocators (cuda_memory.h):
// blocks binned by size under a pool key ((device, stream) for device memory). Not thread-safe;
// the allocators lock around it.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace hemo::detail {

// True when the environment variable is set to something other than "" or "0".
inline bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// Sizes are rounded up to 512 bytes below 1 MiB and to 128 KiB from there on, so a tensor that
// is allocated again with the same shape finds its old block exactly.
inline size_t round_block_size(size_t bytes) {
  constexpr size_t kSmallLimit = size_t{1} << 20, kSmallGrain = 512, kLargeGrain = size_t{128} << 10;
  const size_t grain = bytes < kSmallLimit ? kSmallGrain : kLargeGrain;
  return bytes == 0 ? grain : (bytes + grain - 1) / grain * grain;
}

struct CachedBlock {
  void* ptr = nullptr;
  size_t size = 0;
};

template <class Key>
class BlockCache {
 public:
  // Removes and returns the smallest block of `key` that holds `size` bytes with at most 25% to
  // spare (a larger one would waste memory that a later, larger request could use); {} if none.
  // With any_size, the smallest block that holds `size`, however large (the device allocator then
  // splits it).
  CachedBlock take(const Key& key, size_t size, bool any_size = false) {
    auto pool = pools_.find(key);
    if (pool == pools_.end()) return {};
    auto it = pool->second.lower_bound(size);
    if (it == pool->second.end() || (!any_size && it->first > size + size / 4)) return {};
    CachedBlock b{it->second, it->first};
    pool->second.erase(it);
    bytes_ -= b.size;
    return b;
  }

  // Removes the block at ptr of that size (a neighbour the device allocator merges); false if absent.
  bool remove(const Key& key, void* ptr, size_t size) {
    auto pool = pools_.find(key);
    if (pool == pools_.end()) return false;
    auto [lo, hi] = pool->second.equal_range(size);
    for (auto it = lo; it != hi; ++it)
      if (it->second == ptr) {
        pool->second.erase(it);
        bytes_ -= size;
        return true;
      }
    return false;
  }

  void put(const Key& key, void* ptr, size_t size) {
    pools_[key].emplace(size, ptr);
    bytes_ += size;
  }

  // Removes and returns every block whose key satisfies `pred`.
  template <class Pred>
  std::vector<std::pair<Key, CachedBlock>> drain(Pred pred) {
    std::vector<std::pair<Key, CachedBlock>> out;
    for (auto& [key, pool] : pools_) {
      if (!pred(key)) continue;
      for (const auto& [size, ptr] : pool) out.push_back({key, CachedBlock{ptr, size}});
      pool.clear();
    }
    for (const auto& [key, b] : out) bytes_ -= b.size;
    return out;
  }

  size_t bytes() const { return bytes_; }

 private:
  std::map<Key, std::multimap<size_t, void*>> pools_;
  size_t bytes_ = 0;
};

}  // namespace hemo::detail
