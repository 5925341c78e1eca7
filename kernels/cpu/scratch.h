// Grow-only scratch buffers of the calling thread, reused across calls by the CPU convolutions
// (conv2d.cpp, conv2d_nhwc.cpp): fresh multi-megabyte allocations would cost page faults on every
// layer of every step. A slot's contents live until the thread's next scratch() of that slot; one
// convolution runs at a time on a thread, so the callers share the slots.
#pragma once
#include <cstdint>
#include <vector>

namespace hemo::cpu {

template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
  std::vector<T>& v = buffers[slot];
  if (static_cast<int64_t>(v.size()) < count) v.resize(static_cast<size_t>(count));
  return v.data();
}

}  // namespace hemo::cpu
