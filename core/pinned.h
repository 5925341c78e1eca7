// Page-locked ("pinned") host buffers: the device copies from them at full bus speed and
// asynchronously. This is the tensor/ side of the data loader's BatchAllocator seam (data/batch.h):
// a layer above data/ (train/) wraps it, e.g.
//   loader_options.allocator = [](size_t floats) {
//     std::shared_ptr<void> p = hemo::pinned_buffer(floats * sizeof(float));
//     return data::FloatBuffer{static_cast<float*>(p.get()), floats, p};
//   };
// Buffers come from a size-binned cache (core/cuda_memory.h) and go back to it when the last
// shared_ptr lets go. Thread-safe (the loader's workers call it concurrently).
#pragma once
#include <cstddef>
#include <memory>

namespace hemo {

// True when hemo was built with CUDA and a device is visible.
bool pinned_memory_available();

// `bytes` of page-locked host memory. Throws hemo::Error when pinned_memory_available() is false
// (a CPU-only build or no GPU): callers choose ordinary memory then, explicitly.
std::shared_ptr<void> pinned_buffer(size_t bytes);

}  // namespace hemo
