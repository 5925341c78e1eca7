#include "kernels/precision.h"

#include "core/error.h"
#include "kernels/gemm.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#endif

namespace hemo {

void set_precision(Precision precision, Device device) {
  HEMO_CHECK(precision != Precision::bf16 || device.is_cpu(), "--precision bf16 runs on the CPU only so far, not on ",
             device.str(), " (use fp32 or tf32 there)");
  cpu::set_gemm_bf16(precision == Precision::bf16);
#if HEMO_WITH_CUDA
  cuda::set_allow_tf32(precision == Precision::tf32);
#endif
}

}  // namespace hemo
