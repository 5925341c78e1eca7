// Streams. Every hemo kernel, cuBLAS/cuDNN call, copy and allocation goes onto the calling
// thread's *current stream*: the legacy default stream (0) unless a StreamGuard installs another.
//
// Streams made by hemo::cuda::Stream are created blocking with respect to the legacy default
// stream (cudaStreamDefault), so work on a side stream and work on stream 0 are ordered with each
// other without events. That keeps the caching allocator's per-stream reuse safe when a tensor
// made on a side stream (a batch copied in by the loader) is then used on stream 0. Overlap still
// comes from host work running while the device is busy.
#pragma once
#include <cuda_runtime.h>

namespace hemo::cuda {

cudaStream_t current_stream();

// Waits until everything queued on the current stream has finished; errors are thrown.
void synchronize_current();

// An owned stream on the device current at construction.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
  int device_ = 0;
};

// Makes `stream` the calling thread's current stream for the guard's lifetime.
class StreamGuard {
 public:
  explicit StreamGuard(cudaStream_t stream);
  explicit StreamGuard(const Stream& stream) : StreamGuard(stream.get()) {}
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  cudaStream_t previous_;
};

}  // namespace hemo::cuda
