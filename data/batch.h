// Batch: what the loader yields. Plain buffers (no hemo::Tensor here; an adapter above data/ wraps
// `images` without copying: the buffer's `owner` keeps it alive).
//
// The allocator seam: the loader gets every image buffer from a BatchAllocator. The default one
// is recycling_allocator(FloatBuffer::heap): ordinary heap memory, reused from batch to batch. For
// a CUDA device the trainer passes page-locked host memory (train/evaluate.h: batch_allocator,
// core/pinned.h), and the batch is then copied to the device synchronously, in one copy, when
// it becomes a tensor (train/evaluate.h: batch_tensor). Nothing in data/ calls CUDA. An allocator
// is called from the loader's worker threads, concurrently, so it must be thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "data/image_folder.h"

namespace hemo::data {

struct FloatBuffer {
  float* data = nullptr;
  size_t size = 0;              // number of floats
  std::shared_ptr<void> owner;  // frees `data` when the last copy goes

  std::span<float> span() const { return {data, size}; }
  // Ordinary heap memory (64-byte aligned).
  static FloatBuffer heap(size_t floats);
};

using BatchAllocator = std::function<FloatBuffer(size_t floats)>;

// Wraps `inner` so that a buffer goes back to a pool when the last copy of its FloatBuffer goes
// (the consumer dropped the Batch), and is handed out again for a request of at most its size:
// in the steady state of an epoch nothing is allocated (no page faults, no cudaHostAlloc, and no
// heap growth from the allocator's caching of large blocks). At most `max_kept` idle buffers are
// kept; the rest are freed through `inner`'s owner. Thread-safe. The pool lives as long as the
// returned allocator or any buffer from it.
BatchAllocator recycling_allocator(BatchAllocator inner, size_t max_kept = 8);

struct Batch {
  FloatBuffer images;            // n * c * h * w floats, NCHW, contiguous
  int64_t n = 0, c = 0, h = 0, w = 0;
  std::vector<int64_t> labels;   // n class indices
  std::vector<int64_t> indices;  // n sample indices into the source
  int64_t epoch = 0;
  int64_t number = 0;            // batch number within the epoch, from 0
  std::vector<Skipped> skipped;  // samples left out because they failed (LoaderOptions::on_skip)

  // The CHW image of sample k of the batch.
  std::span<float> image(int64_t k) const {
    const size_t per = static_cast<size_t>(c * h * w);
    return images.span().subspan(static_cast<size_t>(k) * per, per);
  }
};

}  // namespace hemo::data
