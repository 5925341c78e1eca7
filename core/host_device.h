// HEMO_HOST_DEVICE marks a function that is compiled for both the CPU reference and CUDA kernels
// (__host__ __device__ under nvcc, nothing under a plain C++ compiler), so a formula shared by
// kernels/cpu/ and kernels/cuda/ is written once.
#pragma once

#if defined(__CUDACC__)
#define HEMO_HOST_DEVICE __host__ __device__
#else
#define HEMO_HOST_DEVICE
#endif
