// cuBLAS, behind cuda::gemm (declared with the CPU one in kernels/gemm.h): handles and the TF32
// switch.
//
// One cuBLAS handle per thread and device, made on first use and bound to the calling thread's
// current stream at every call. Handles are never destroyed (a thread that used cuBLAS leaves
// one behind at exit): destroying them from static or thread-exit destructors can run after the
// CUDA runtime has shut down.
//
// TF32: OFF by default, so a float GEMM is computed in full float32 and matches the CPU reference
// to float rounding. set_allow_tf32(true), or HEMO_ALLOW_TF32=1 in the environment, lets cuBLAS
// and cuDNN use TF32 tensor cores (about 10 mantissa bits per product: relative errors near 1e-3).
#pragma once
#include <cublas_v2.h>


namespace hemo::cuda {

void set_allow_tf32(bool on);
bool allow_tf32();

// This thread's handle for the current device, bound to the current stream, math mode set from
// allow_tf32().
cublasHandle_t cublas_handle();

}  // namespace hemo::cuda
