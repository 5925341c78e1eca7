// Cross-entropy fused with log-softmax over logits [n, k] (row i, class j) with class-index labels,
// optional class weights w [k] (null: all 1) and label smoothing eps, as torch's F.cross_entropy.
//
// Per row i with label y = labels[i]:
//   m_i = max_j z_ij     lse_i = m_i + log sum_j exp(z_ij - m_i)     logp_ij = z_ij - lse_i
//   q_ij = (1 - eps) w_y [j == y] + (eps / k) w_j                     (the weighted, smoothed target)
//   loss_i = -sum_j q_ij logp_ij = (1 - eps) w_y (-logp_iy) + (eps / k) sum_j w_j (-logp_ij)
//   dz_ij = d loss_i / d z_ij = p_ij Q_i - q_ij,   p_ij = exp(logp_ij),   Q_i = sum_j q_ij
//
// softmax_xent_fwd: one pass per row (the CUDA kernel: one block per row) writes loss[i] and, when
//   dz is non-null, the whole row of dz (both OVERWRITTEN). The forward already holds p, so the
//   backward is a scaling of dz and never recomputes the softmax.
// softmax_xent_bwd: gx_ij = scale * gy[i * gy_stride] * dz_ij (OVERWRITES gx). gy_stride 0 reads
//   one gradient for every row (mean and sum reductions; mean's scale is 1 / sum_i w_{y_i}),
//   gy_stride 1 a gradient per row (no reduction). gy is read through the pointer, so a device
//   gradient never has to visit the host.
// Requires labels in [0, k) (nn::cross_entropy checks) and 0 <= eps < 1. Row sums run in double.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

template <class T>
struct SoftmaxXentFwd {
  int64_t n = 0, k = 0;              // logits [n, k]
  const T* logits = nullptr;
  const int64_t* labels = nullptr;   // [n], in [0, k)
  const T* weight = nullptr;         // [k] or null
  double smoothing = 0;              // eps
  T* loss = nullptr;                 // [n]
  T* dz = nullptr;                   // [n, k] or null
};

template <class T>
struct SoftmaxXentBwd {
  int64_t n = 0, k = 0;
  const T* dz = nullptr;
  const T* gy = nullptr;
  int64_t gy_stride = 0;             // 0: one gradient for all rows; 1: one per row
  double scale = 1;
  T* gx = nullptr;
};

namespace cpu {
template <class T> void softmax_xent_fwd(Backend, const SoftmaxXentFwd<T>& a);
template <class T> void softmax_xent_bwd(Backend, const SoftmaxXentBwd<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/softmax_xent.cu): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void softmax_xent_fwd(Backend, const SoftmaxXentFwd<T>& a);
template <class T> void softmax_xent_bwd(Backend, const SoftmaxXentBwd<T>& a);
}  // namespace cuda

}  // namespace hemo
