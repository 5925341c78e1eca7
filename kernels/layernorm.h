// Layer normalization over dimension 1 of a contiguous [n, c, hw] tensor: each of the n * hw
// positions (b, s) is normalized over its c values x[b, k, s], k < c (stride hw). This is
// torch.nn.LayerNorm(c) applied to the channels of an NCHW tensor (ConvNeXt's LayerNorm2d, and
// its blocks' Permute -> LayerNorm(c) -> Permute), and plain LayerNorm(c) of [n, c] rows (hw = 1).
//
// Forward, per position (sums over k < c, in double):
//   mean = sum(x) / c        var = sum((x - mean)^2) / c   (biased, as torch; two passes)
//   invstd = 1 / sqrt(var + eps)      xhat = (x - mean) invstd      y = gamma_k xhat + beta_k
//   save_mean, save_invstd: [n * hw] in position order (b * hw + s), for the backward.
// Backward (g = gamma_k gy, the per-position means over k):
//   gx = invstd (g - mean_k(g) - xhat mean_k(g xhat))
//   ggamma_k = sum over positions of gy xhat       gbeta_k = sum over positions of gy
// Every backward output is OVERWRITTEN; any may be null (not wanted). gamma and beta may be null
// (elementwise_affine off: gamma = 1, beta = 0). Requires c >= 1, eps > 0.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

struct LayerNormShape {
  int64_t n = 0, c = 0, hw = 1;
};

template <class T>
struct LayerNormFwd {
  LayerNormShape shape;
  double eps = 1e-5;
  const T* x = nullptr;
  const T* gamma = nullptr;
  const T* beta = nullptr;
  T* y = nullptr;
  T* save_mean = nullptr;    // [n * hw]
  T* save_invstd = nullptr;  // [n * hw]
};

template <class T>
struct LayerNormBwd {
  LayerNormShape shape;
  const T* x = nullptr;
  const T* gy = nullptr;
  const T* gamma = nullptr;
  const T* save_mean = nullptr;
  const T* save_invstd = nullptr;
  T* gx = nullptr;
  T* ggamma = nullptr;
  T* gbeta = nullptr;
};

namespace cpu {
template <class T> void layer_norm_fwd(Backend, const LayerNormFwd<T>& a);
template <class T> void layer_norm_bwd(Backend, const LayerNormBwd<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/layernorm.cu): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void layer_norm_fwd(Backend, const LayerNormFwd<T>& a);
template <class T> void layer_norm_bwd(Backend, const LayerNormBwd<T>& a);
}  // namespace cuda

}  // namespace hemo
