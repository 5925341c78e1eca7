#include "kernels/precision.h"

#include "core/error.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#endif

namespace hemo {

void set_precision(Precision precision) {
  HEMO_CHECK(precision != Precision::bf16,
             "--precision bf16: bfloat16 mixed precision is not implemented yet (fp32 and tf32 are)");
#if HEMO_WITH_CUDA
  cuda::set_allow_tf32(precision == Precision::tf32);
#endif
}

}  // namespace hemo
