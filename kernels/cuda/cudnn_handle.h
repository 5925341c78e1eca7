// What the files calling cuDNN share (kernels/cuda/conv_cudnn.cpp, conv_cudnn_fused.cpp), in a
// build with cuDNN only: the per-thread, per-device handle bound to the current stream, and the
// status check that turns a failure into hemo::Error naming the call and cuDNN's own detail.
#pragma once
#include <cudnn.h>

#include <string>

namespace hemo::cuda {

cudnnHandle_t cudnn_handle();  // this thread's handle for the current device, on current_stream()

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const std::string& call, const char* file, int line);

}  // namespace hemo::cuda

#define HEMO_CUDNN_CHECK(call)                                                        \
  do {                                                                                \
    cudnnStatus_t hemo_status_ = (call);                                              \
    if (hemo_status_ != CUDNN_STATUS_SUCCESS)                                         \
      ::hemo::cuda::throw_cudnn_error(hemo_status_, #call, __FILE__, __LINE__);       \
  } while (0)
