#include "core/cuda/stream.h"

#include "core/cuda/check.h"

namespace hemo::cuda {

namespace {
thread_local cudaStream_t g_current = nullptr;  // the legacy default stream
}

cudaStream_t current_stream() { return g_current; }

void synchronize_current() { HEMO_CUDA_CHECK(cudaStreamSynchronize(g_current)); }

Stream::Stream() {
  HEMO_CUDA_CHECK(cudaGetDevice(&device_));
  HEMO_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
}

Stream::~Stream() {
  // Finishing the stream's work first means no cached block tagged with it is still in use, and no
  // later stream that happens to get the same handle can race with it. A destructor must not throw:
  // a failure here means the context is already broken, and the next checked call reports it.
  if (stream_) {
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
}

void Stream::synchronize() const { HEMO_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

StreamGuard::StreamGuard(cudaStream_t stream) : previous_(g_current) { g_current = stream; }
StreamGuard::~StreamGuard() { g_current = previous_; }

}  // namespace hemo::cuda
