// Batch normalization over channel dimension 1 of a contiguous [n, c, hw] tensor: NCHW with
// hw = H * W, or a 2-d [N, C] input (BatchNorm1d) with hw = 1. Statistics run over the
// M = n * hw elements of each channel.
//
// Training forward, per channel k (sums over the channel's M elements):
//   mean_k = sum(x) / M            var_k = sum((x - mean_k)^2) / M   (biased, for normalizing)
//   invstd_k = 1 / sqrt(var_k + eps)                                 (eps inside the root)
//   xhat = (x - mean_k) invstd_k   y = gamma_k xhat + beta_k
//   save_mean = mean, save_invstd = invstd (for the backward), and, when running stats are given,
//   in place:  running_mean = (1 - momentum) running_mean + momentum mean_k
//              running_var  = (1 - momentum) running_var  + momentum var_k M / (M - 1)  (unbiased)
//   Requires M > 1 (the unbiased variance is undefined otherwise; nn::batch_norm checks).
// Eval forward: the same affine map with running_mean / running_var in place of the batch stats:
//   y = gamma_k (x - running_mean_k) / sqrt(running_var_k + eps) + beta_k.
// Training backward (mean and invstd are the saved batch statistics):
//   gbeta_k  = sum(gy)             ggamma_k = sum(gy xhat)
//   gx = gamma_k invstd_k / M (M gy - gbeta_k - xhat ggamma_k)
// Eval backward (the statistics are constants):
//   gbeta_k = sum(gy)   ggamma_k = sum(gy xhat)   gx = gamma_k invstd_k gy,
//   with invstd_k = 1 / sqrt(running_var_k + eps).
// Every backward OVERWRITES gx, ggamma and gbeta; any of them may be null (not wanted).
// gamma and beta may be null (affine off: gamma = 1, beta = 0). Channel sums accumulate in double.
#pragma once
#include <cstdint>

namespace hemo::cpu {

template <class T>
void batch_norm_train_fwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma, const T* beta, double momentum,
                          double eps, T* running_mean, T* running_var, T* y, T* save_mean, T* save_invstd);

template <class T>
void batch_norm_eval_fwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma, const T* beta,
                         const T* running_mean, const T* running_var, double eps, T* y);

template <class T>
void batch_norm_train_bwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gy, const T* gamma,
                          const T* save_mean, const T* save_invstd, T* gx, T* ggamma, T* gbeta);

template <class T>
void batch_norm_eval_bwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gy, const T* gamma,
                         const T* running_mean, const T* running_var, double eps, T* gx, T* ggamma, T* gbeta);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/batchnorm.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T>
void batch_norm_train_fwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma, const T* beta, double momentum,
                          double eps, T* running_mean, T* running_var, T* y, T* save_mean, T* save_invstd);

template <class T>
void batch_norm_eval_fwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma, const T* beta,
                         const T* running_mean, const T* running_var, double eps, T* y);

template <class T>
void batch_norm_train_bwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gy, const T* gamma,
                          const T* save_mean, const T* save_invstd, T* gx, T* ggamma, T* gbeta);

template <class T>
void batch_norm_eval_bwd(int64_t n, int64_t c, int64_t hw, const T* x, const T* gy, const T* gamma,
                         const T* running_mean, const T* running_var, double eps, T* gx, T* ggamma, T* gbeta);

}  // namespace hemo::cuda
