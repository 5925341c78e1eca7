// CUDA layer norm over dimension 1 (the contract is kernels/layernorm.h). Forward and input
// gradient: one thread per position, walking its c values (stride hw: consecutive threads read
// consecutive addresses, so NCHW inputs coalesce) in the CPU reference's order and precision
// (double sums, -fmad=false: kernels/CMakeLists.txt), so they agree with it to the last bit or
// nearly. gamma and beta gradients: one block per channel summing over the n * hw positions.
#include "kernels/cuda/launch.cuh"
#include "kernels/layernorm.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void fwd_kernel(const LayerNormFwd<T> a) {
  const int64_t c = a.shape.c, hw = a.shape.hw;
  for (int64_t p : grid_stride(a.shape.n * hw)) {
    const int64_t b = p / hw, s = p - b * hw;
    const T* x = a.x + b * c * hw + s;
    T* y = a.y + b * c * hw + s;
    double sum = 0;
    for (int64_t k = 0; k < c; ++k) sum += static_cast<double>(x[k * hw]);
    const double mean = sum / static_cast<double>(c);
    double ss = 0;
    for (int64_t k = 0; k < c; ++k) {
      const double d = static_cast<double>(x[k * hw]) - mean;
      ss += d * d;
    }
    const double invstd = 1.0 / sqrt(ss / static_cast<double>(c) + a.eps);
    for (int64_t k = 0; k < c; ++k) {
      const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, bt = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
      y[k * hw] = static_cast<T>((static_cast<double>(x[k * hw]) - mean) * invstd * g + bt);
    }
    a.save_mean[p] = static_cast<T>(mean);
    a.save_invstd[p] = static_cast<T>(invstd);
  }
}

template <class T>
__device__ double xhat_at(const LayerNormBwd<T>& a, int64_t b, int64_t k, int64_t s) {
  const int64_t p = b * a.shape.hw + s;
  return (static_cast<double>(a.x[(b * a.shape.c + k) * a.shape.hw + s]) - static_cast<double>(a.save_mean[p])) *
         static_cast<double>(a.save_invstd[p]);
}

template <class T>
__global__ void input_grad_kernel(const LayerNormBwd<T> a) {
  const int64_t c = a.shape.c, hw = a.shape.hw;
  for (int64_t p : grid_stride(a.shape.n * hw)) {
    const int64_t b = p / hw, s = p - b * hw;
    const T* gy = a.gy + b * c * hw + s;
    double sg = 0, sgx = 0;
    for (int64_t k = 0; k < c; ++k) {
      const double g = static_cast<double>(gy[k * hw]) * (a.gamma ? static_cast<double>(a.gamma[k]) : 1.0);
      sg += g;
      sgx += g * xhat_at(a, b, k, s);
    }
    const double mg = sg / static_cast<double>(c), mgx = sgx / static_cast<double>(c);
    const double invstd = static_cast<double>(a.save_invstd[p]);
    for (int64_t k = 0; k < c; ++k) {
      const double g = static_cast<double>(gy[k * hw]) * (a.gamma ? static_cast<double>(a.gamma[k]) : 1.0);
      a.gx[(b * c + k) * hw + s] = static_cast<T>(invstd * (g - mg - xhat_at(a, b, k, s) * mgx));
    }
  }
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
    sgyx += g * xhat_at(a, b, k, s);
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
