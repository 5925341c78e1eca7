// CUDA fused softmax + cross-entropy (the contract is kernels/softmax_xent.h): one block per row
// computes the row's log-sum-exp, its loss and, for the backward, its whole row of dz in one
// launch, in double like the reference; the backward only scales dz.
#include "kernels/cuda/launch.cuh"
#include "kernels/softmax_xent.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void xent_fwd_kernel(int64_t k, const T* __restrict__ logits, const int64_t* __restrict__ labels,
                                const T* __restrict__ weight, double smoothing, T* __restrict__ loss,
                                T* __restrict__ dz) {
  const int64_t i = blockIdx.x;
  const T* z = logits + i * k;
  const int64_t y = labels[i];
  const double eps_k = smoothing / static_cast<double>(k);
  auto w = [weight](int64_t j) { return weight ? static_cast<double>(weight[j]) : 1.0; };

  double m = -INFINITY;
  for (int64_t j : block_stride(k)) m = Max{}(m, static_cast<double>(z[j]));
  m = block_max(m);
  double s = 0;
  for (int64_t j : block_stride(k)) s += exp(static_cast<double>(z[j]) - m);
  const double lse = m + log(block_sum(s));
  const double w_y = w(y);
  // loss_i = (1 - eps) w_y (lse - z_y) + eps/k sum_j w_j (lse - z_j)
  double smooth = 0;
  if (smoothing != 0) {  // the same for every thread of the block: the reduction stays uniform
    for (int64_t j : block_stride(k)) smooth += w(j) * (lse - static_cast<double>(z[j]));
    smooth = block_sum(smooth);
  }
  if (threadIdx.x == 0)
    loss[i] = static_cast<T>((1 - smoothing) * w_y * (lse - static_cast<double>(z[y])) + eps_k * smooth);
  if (!dz) return;
  double wsum = 0;  // sum_j w_j
  for (int64_t j : block_stride(k)) wsum += w(j);
  wsum = block_sum(wsum);
  const double Q = (1 - smoothing) * w_y + eps_k * wsum;
  T* d = dz + i * k;
  for (int64_t j : block_stride(k)) {
    const double q = eps_k * w(j) + (j == y ? (1 - smoothing) * w_y : 0.0);
    d[j] = static_cast<T>(exp(static_cast<double>(z[j]) - lse) * Q - q);
  }
}

template <class T>
__global__ void xent_bwd_kernel(int64_t n, int64_t k, const T* __restrict__ dz, const T* __restrict__ gy,
                                int64_t gy_stride, double scale, T* __restrict__ gx) {
  for (int64_t e : grid_stride(n * k)) {
    const T f = static_cast<T>(scale * static_cast<double>(gy[(e / k) * gy_stride]));
    gx[e] = f * dz[e];
  }
}
}  // namespace

template <class T>
void softmax_xent_fwd(Backend, const SoftmaxXentFwd<T>& a) {
  if (a.n == 0 || a.k == 0) return;
  HEMO_LAUNCH(xent_fwd_kernel<T>, static_cast<unsigned>(a.n), kRowThreads, 0, a.k, a.logits, a.labels, a.weight,
              a.smoothing, a.loss, a.dz);
}

template <class T>
void softmax_xent_bwd(Backend, const SoftmaxXentBwd<T>& a) {
  const int64_t total = a.n * a.k;
  if (total == 0) return;
  HEMO_LAUNCH(xent_bwd_kernel<T>, grid_for(total, kThreads), kThreads, 0, a.n, a.k, a.dz, a.gy, a.gy_stride, a.scale,
              a.gx);
}

template void softmax_xent_fwd<float>(Backend, const SoftmaxXentFwd<float>&);
template void softmax_xent_bwd<float>(Backend, const SoftmaxXentBwd<float>&);

}  // namespace hemo::cuda
