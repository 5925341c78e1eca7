// CUDA layer norm over dimension 1 (the contract is kernels/layernorm.h). Forward and input
// gradient: one thread per position, running the CPU reference's own per-position code
// (kernels/layernorm_math.h; stride hw: consecutive threads read consecutive addresses, so NCHW
// inputs coalesce), compiled with -fmad=false (kernels/CMakeLists.txt), so they agree with it to
// the last bit or nearly. gamma and beta gradients: one block per channel summing over the n * hw
// positions.
#include "kernels/cuda/launch.cuh"
#include "kernels/layernorm.h"
#include "kernels/layernorm_math.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void fwd_kernel(const LayerNormFwd<T> a) {
  for (int64_t p : grid_stride(a.shape.n * a.shape.hw)) layernorm_math::forward_position(a, p);
}

template <class T>
__global__ void input_grad_kernel(const LayerNormBwd<T> a) {
  for (int64_t p : grid_stride(a.shape.n * a.shape.hw)) layernorm_math::input_grad_position(a, p);
}

// Block k: sum(gy) and sum(gy xhat) over channel k's n * hw positions.
template <class T>
__global__ void param_grad_kernel(const LayerNormBwd<T> a) {
  const int64_t k = blockIdx.x, hw = a.shape.hw;
  double sgy = 0, sgyx = 0;
  for (int64_t j : block_stride(a.shape.n * hw)) {
    const int64_t b = j / hw, s = j - b * hw;
    const double g = static_cast<double>(a.gy[(b * a.shape.c + k) * hw + s]);
    sgy += g;
    sgyx += g * layernorm_math::xhat(a, b, k, s);
  }
  sgy = block_sum(sgy);
  sgyx = block_sum(sgyx);
  if (threadIdx.x == 0) {
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sgyx);
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sgy);
  }
}
}  // namespace

template <class T>
void layer_norm_fwd(Backend, const LayerNormFwd<T>& a) {
  const int64_t positions = a.shape.n * a.shape.hw;
  if (positions == 0) return;
  HEMO_LAUNCH(fwd_kernel<T>, grid_for(positions, kThreads), kThreads, 0, a);
}

template <class T>
void layer_norm_bwd(Backend, const LayerNormBwd<T>& a) {
  const int64_t positions = a.shape.n * a.shape.hw;
  if (positions == 0) return;
  if (a.gx) HEMO_LAUNCH(input_grad_kernel<T>, grid_for(positions, kThreads), kThreads, 0, a);
  if (a.ggamma || a.gbeta) HEMO_LAUNCH(param_grad_kernel<T>, static_cast<unsigned>(a.shape.c), kReduceThreads, 0, a);
}

template void layer_norm_fwd<float>(Backend, const LayerNormFwd<float>&);
template void layer_norm_bwd<float>(Backend, const LayerNormBwd<float>&);

}  // namespace hemo::cuda
