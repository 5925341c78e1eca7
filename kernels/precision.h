// The arithmetic a process runs its convolutions and matrix products in, chosen by --precision
// (core/options.h: Precision) on every command that runs a model, and set once, before the model
// runs, with set_precision:
//   fp32  strict float32: cuBLAS and cuDNN use no TF32 tensor cores (the CPU always computes so).
//   tf32  on CUDA, cuBLAS GEMMs and cuDNN convolutions may round their inputs to TF32 (10-bit
//         mantissa, float32 accumulation; about 1e-3 relative error per product) on tensor cores;
//         on the CPU, which has no TF32 unit, the same as fp32.
//   bf16  mixed precision with bfloat16 compute is not implemented yet: an Error saying so.
// Processes that embed hemo without a command start at fp32, or at tf32 with HEMO_ALLOW_TF32=1
// in the environment (kernels/cuda/blas.h).
#pragma once
#include "core/options.h"

namespace hemo {

void set_precision(Precision precision);

}  // namespace hemo
