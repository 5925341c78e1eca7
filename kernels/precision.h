// The arithmetic a process runs its convolutions and matrix products in, chosen by --precision
// (core/options.h: Precision) on every command that runs a model, and set once, before the model
// runs, with set_precision:
//   fp32  strict float32: cuBLAS and cuDNN use no TF32 tensor cores (the CPU always computes so).
//   tf32  on CUDA, cuBLAS GEMMs and cuDNN convolutions may round their inputs to TF32 (10-bit
//         mantissa, float32 accumulation; about 1e-3 relative error per product) on tensor cores;
//         on the CPU, which has no TF32 unit, the same as fp32.
//   bf16  mixed precision as PyTorch's autocast computes it: every GEMM (so every dense and
//         grouped convolution, forward and both backward products, and every linear layer) rounds
//         its two operands to bfloat16 and sums the exact products in float32 (kernels/gemm.h:
//         set_gemm_bf16; AMX tiles where the CPU has them). Everything else stays float32: the
//         weights (the master copy; their bf16 copies are made as the GEMM packs them), batch
//         norm and its statistics, softmax, the losses, reductions, the optimizer, and the
//         depthwise convolutions, whose direct kernels gain nothing from bf16 on the CPU.
//         Activations are stored as float32 (PyTorch stores a bf16 op's output as bf16: hemo
//         keeps the float32 sum, so it rounds less, not more). On CUDA the same: cuBLAS GEMMs
//         on bf16 copies of their operands with float32 accumulation and output, and cuDNN
//         convolutions in its bf16 configuration, whose outputs (y, and the input and weight
//         gradients) are rounded to bf16 before they are widened to float32 tensors
//         (kernels/cuda/blas.h): a convolution there rounds once more than on the CPU, as
//         PyTorch's does.
// Processes that embed hemo without a command start at fp32, or at tf32 with HEMO_ALLOW_TF32=1
// in the environment (kernels/cuda/blas.h).
#pragma once
#include "core/dtype.h"
#include "core/options.h"

namespace hemo {

// Sets both devices' switches (the CPU's kernels/gemm.h, CUDA's kernels/cuda/blas.h); `device`,
// the device the model runs on, is kept for the callers' symmetry and future modes.
void set_precision(Precision precision);

}  // namespace hemo
