// cuBLAS, behind cuda::gemm (declared with the CPU one in kernels/gemm.h): handles, the math
// switches, and the two library calls cuda::gemm<float> (kernels/cuda/gemm.cpp) makes.
//
// One cuBLAS handle per thread and device, made on first use and bound to the calling thread's
// current stream at every call. Handles are never destroyed (a thread that used cuBLAS leaves
// one behind at exit): destroying them from static or thread-exit destructors can run after the
// CUDA runtime has shut down.
//
// TF32: OFF by default, so a float GEMM is computed in full float32 and matches the CPU reference
// to float rounding. set_allow_tf32(true), or HEMO_ALLOW_TF32=1 in the environment, lets cuBLAS
// and cuDNN use TF32 tensor cores (about 10 mantissa bits per product: relative errors near 1e-3).
//
// bf16 products (--precision bf16, kernels/precision.h): OFF by default. set_bf16_products(true)
// makes every GEMM round its two operands to bfloat16 and sum the products (exact in float32) in
// float32 into a float32 C, as the CPU's set_gemm_bf16 does; and every cuDNN convolution take
// bf16 operands and return a bf16 result (cuDNN's bf16 configuration, as in PyTorch's autocast),
// which kernels/cuda/conv2d.cpp widens back to float32. The switch takes precedence over TF32.
#pragma once
#include <cublas_v2.h>

#include "core/bf16.h"
#include "kernels/gemm.h"

namespace hemo::cuda {

void set_allow_tf32(bool on);
bool allow_tf32();
void set_bf16_products(bool on);
bool bf16_products();

// This thread's handle for the current device, bound to the current stream, math mode set from
// allow_tf32().
cublasHandle_t cublas_handle();

// The library calls, with gemm's contract (kernels/gemm.h), device pointers, the current stream:
// float32 operands (TF32 when allowed; k == 0 allowed), or bf16 operands (k >= 1) with float32
// accumulation and C. The emulation build computes both with the CPU reference
// (kernels/cuda/emu/libraries.cpp).
void cublas_gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c);
void cublas_gemm_bf16(const GemmShape& s, float alpha, const bf16* a, const bf16* b, float beta, float* c);

}  // namespace hemo::cuda
