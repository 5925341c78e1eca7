// The cuBLAS names kernels/cuda/blas.h and blas.cpp refer to, for the emulation
// build, where no cuBLAS exists: cuda::gemm runs the CPU reference instead
// (kernels/cuda/emu/libraries.cpp).
#pragma once

enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
struct cublasContext;
typedef cublasContext* cublasHandle_t;
inline const char* cublasGetStatusName(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_NOT_SUPPORTED";
}
inline const char* cublasGetStatusString(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "success" : "not supported in the CUDA emulator";
}
