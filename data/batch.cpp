#include "data/batch.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>

namespace hemo::data {

FloatBuffer FloatBuffer::heap(size_t floats) {
  FloatBuffer b;
  const size_t bytes = std::max<size_t>(64, (floats * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  b.data = static_cast<float*>(p);
  b.size = floats;
  b.owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return b;
}

namespace {

struct Pool {
  BatchAllocator inner;
  size_t max_kept = 0;
  std::mutex mu;
  std::vector<FloatBuffer> idle;  // each as `inner` made it: size is its capacity
};

}  // namespace

BatchAllocator recycling_allocator(BatchAllocator inner, size_t max_kept) {
  auto pool = std::make_shared<Pool>();
  pool->inner = std::move(inner);
  pool->max_kept = max_kept;
  return [pool](size_t floats) {
    FloatBuffer held;
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      for (size_t i = 0; i < pool->idle.size(); ++i) {
        if (pool->idle[i].size >= floats) {
          held = std::move(pool->idle[i]);
          pool->idle.erase(pool->idle.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
    }
    if (!held.data) held = pool->inner(floats);
    if (!held.data || held.size < floats) return held;  // the caller reports a short buffer
    FloatBuffer out;
    out.data = held.data;
    out.size = floats;
    // The last copy of `out` going puts `held` back (or frees it, when the pool is full).
    out.owner = std::shared_ptr<void>(held.data, [pool, held](void*) mutable {
      std::lock_guard<std::mutex> lock(pool->mu);
      if (pool->idle.size() < pool->max_kept) pool->idle.push_back(std::move(held));
      // else: `held` goes with this deleter, and its owner frees the memory
    });
    return out;
  };
}

}  // namespace hemo::data
