#include "core/pinned.h"

#include "core/error.h"
#include "core/storage.h"
#if HEMO_WITH_CUDA
#include "core/cuda_memory.h"
#endif

namespace hemo {

bool pinned_memory_available() { return cuda_available(); }

std::shared_ptr<void> pinned_buffer(size_t bytes) {
  HEMO_CHECK(pinned_memory_available(), "pinned_buffer: page-locked memory needs a CUDA build and a visible GPU",
             HEMO_WITH_CUDA ? " (no GPU is visible)" : " (this hemo was built without CUDA)");
#if HEMO_WITH_CUDA
  void* p = cuda_pinned_malloc(bytes);
  return std::shared_ptr<void>(p, [bytes](void* q) { cuda_pinned_free(q, bytes); });
#else
  (void)bytes;
  return {};
#endif
}

}  // namespace hemo
