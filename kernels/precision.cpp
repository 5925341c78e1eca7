#include "kernels/precision.h"

#include "kernels/gemm.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#endif

namespace hemo {

void set_precision(Precision precision) {
  cpu::set_gemm_bf16(precision == Precision::bf16);
#if HEMO_WITH_CUDA
  cuda::set_allow_tf32(precision == Precision::tf32);
  cuda::set_bf16_products(precision == Precision::bf16);
#endif
}

}  // namespace hemo
