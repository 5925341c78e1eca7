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
// Fused activation (`act`, kernels/batchnorm_act.h): relu or relu6 applied to y in the same pass,
//   y = act(gamma_k xhat + beta_k)                  (train and eval forward)
// and, in the backward, gy (the gradient of act's output) masked by act' before the formulas
// above, the mask read from the fused output y:
//   relu: gy where y > 0, else 0        relu6: gy where 0 < y < 6, else 0
// Those hold exactly where the pre-activation v does (v > 0; 0 < v < 6), so a fused call gives
// bit for bit what batch norm followed by nn::activation gives (kernels/activation.h), NaN
// included, while one pass over memory, and the intermediate v, are saved.
// Fused residual (`r`, same shape and memory order as x and y; null: none), ResNet's
// relu(bn(x) + shortcut): the batch norm output v = gamma_k xhat + beta_k is rounded to T, then
//   y = act(v + r)                                  (v + r one addition in T, as nn::add)
// and, when the backward's `gr` is given, it receives the masked gy itself (act' read from y as
// above; gy itself without an activation), which is what add's backward hands the shortcut:
//   gr = gy where act' = 1, else 0; the formulas above then run on that same masked gy.
// So the fused forward and backward are bit for bit batch norm -> nn::add -> activation.
// Every backward OVERWRITES gx, ggamma, gbeta and gr; any of them may be null (not wanted).
// gamma and beta may be null (affine off: gamma = 1, beta = 0). Channel sums accumulate in double
// (on the CPU with hw == 1, [M, C] matrices such as channels-last activations, by the row-wise
// kernels of kernels/cpu/batchnorm_rows.h).
// The arguments are the structs below, one per entry point (kernels/backend.h says why).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels/backend.h"

namespace hemo {

// The activation fused into batch norm: none, or one whose derivative can be read from its output.
enum class BnAct : uint8_t { none, relu, relu6 };
const char* bn_act_name(BnAct a);  // "none", "relu", "relu6"

// The eval map's coefficients for channel k, computed in double and rounded once to T:
//   a = gamma_k / sqrt(running_var_k + eps),   s = beta_k - running_mean_k a   (before rounding)
// (gamma = 1, beta = 0 when null): y = x a + s. The one formula of the CPU and CUDA eval kernels
// and of the convolution epilogue (kernels/conv_epilogue.h), so all three round alike.
template <class T>
HEMO_HOST_DEVICE inline void batch_norm_eval_coefs(const T* gamma, const T* beta, const T* running_mean,
                                                   const T* running_var, double eps, int64_t k, T& a, T& s) {
  const double invstd = 1.0 / sqrt(static_cast<double>(running_var[k]) + eps);
  const double g = gamma ? static_cast<double>(gamma[k]) : 1.0, b = beta ? static_cast<double>(beta[k]) : 0.0;
  a = static_cast<T>(g * invstd);
  s = static_cast<T>(b - static_cast<double>(running_mean[k]) * g * invstd);
}

// The mean and M2 (the sum of squared deviations) of channel k's M values from their sum and sum
// of squares (BatchNormTrainFwd::sum), the one-pass formula of cuDNN's batch-norm pattern:
//   mean = sum / M,   M2 = max(sqsum - sum mean, 0)        (then var = M2 / M, unbiased M2 / (M - 1))
// Error bound: when the sums carry relative errors of at most d (float32 sums: d <= about
// log2(M) 2^-24 for a tree reduction), |M2 - M2_exact| <= d (sqsum + |sum mean|) <= 2 d sqsum,
// so var's relative error is at most 2 d sqsum / M2 = 2 d (1 + mean^2 / var). The formula is
// therefore used only where M2 >= sqsum / 8 (mean^2 / var < 7: var within 16 d, about 2e-5 at
// worst for M up to 10^6, of its exact value); false otherwise (and when no sums are given, or
// they are not finite), and the caller computes the channel's statistics in two passes in double,
// as without sums. Such channels are those whose values barely vary around a large mean: late
// maps of a small batch of similar images, where the one-pass formula cancels to noise.
template <class T>
HEMO_HOST_DEVICE inline bool batch_norm_stats_from_sums(const T* sum, const T* sqsum, int64_t k, int64_t m,
                                                        double& mean, double& m2) {
  if (!sum) return false;
  const double s = static_cast<double>(sum[k]), ss = static_cast<double>(sqsum[k]);
  const double d = ss - s * (s / static_cast<double>(m));
  if (!(d * 8 >= ss)) return false;  // ill-conditioned, or NaN
  mean = s / static_cast<double>(m);
  m2 = d > 0 ? d : 0.0;
  return true;
}

struct BatchNormShape {
  int64_t n = 0, c = 0, hw = 1;  // [n, c, hw]: the statistics run over M = n * hw per channel
};

// Arguments, one struct per entry point. gamma and beta may be null (affine off); the outputs are
// written, never accumulated; a backward output left null is not computed.
template <class T>
struct BatchNormTrainFwd {
  BatchNormShape shape;
  double momentum = 0.1, eps = 1e-5;
  BnAct act = BnAct::none;
  const T* x = nullptr;
  const T* gamma = nullptr;
  const T* beta = nullptr;
  T* running_mean = nullptr;  // updated in place when not null
  T* running_var = nullptr;
  const T* r = nullptr;  // residual added before act (x's shape and memory order); null: none
  T* y = nullptr;
  T* save_mean = nullptr;    // [c], for the backward
  T* save_invstd = nullptr;  // [c]
  // The statistics summed already, by the convolution that wrote x (cuDNN's genstats,
  // kernels/conv_epilogue.h: cuda::conv2d_fwd_stats): channel k's sum and sum of squares over its
  // M elements, [c] each, both null (this call computes the statistics) or both given (the call
  // reads x once, for the map, instead of three times, for every channel that
  // batch_norm_stats_from_sums accepts; the others take their two passes).
  const T* sum = nullptr;
  const T* sqsum = nullptr;
};

template <class T>
struct BatchNormEvalFwd {
  BatchNormShape shape;
  double eps = 1e-5;
  BnAct act = BnAct::none;
  const T* x = nullptr;
  const T* gamma = nullptr;
  const T* beta = nullptr;
  const T* running_mean = nullptr;
  const T* running_var = nullptr;
  const T* r = nullptr;  // residual added before act (x's shape and memory order); null: none
  T* y = nullptr;
};

template <class T>
struct BatchNormTrainBwd {
  BatchNormShape shape;
  BnAct act = BnAct::none;
  const T* x = nullptr;
  const T* y = nullptr;  // the fused forward's output; read only when act is not none
  const T* gy = nullptr;
  const T* gamma = nullptr;
  const T* save_mean = nullptr;
  const T* save_invstd = nullptr;
  T* gx = nullptr;
  T* ggamma = nullptr;
  T* gbeta = nullptr;
  T* gr = nullptr;  // the residual's gradient (the masked gy; x's shape); null: not wanted
};

template <class T>
struct BatchNormEvalBwd {
  BatchNormShape shape;
  double eps = 1e-5;
  BnAct act = BnAct::none;
  const T* x = nullptr;
  const T* y = nullptr;  // the fused forward's output; read only when act is not none
  const T* gy = nullptr;
  const T* gamma = nullptr;
  const T* running_mean = nullptr;
  const T* running_var = nullptr;
  T* gx = nullptr;
  T* ggamma = nullptr;
  T* gbeta = nullptr;
  T* gr = nullptr;  // the residual's gradient (the masked gy; x's shape); null: not wanted
};

namespace cpu {
template <class T> void batch_norm_train_fwd(Backend, const BatchNormTrainFwd<T>& a);
template <class T> void batch_norm_eval_fwd(Backend, const BatchNormEvalFwd<T>& a);
template <class T> void batch_norm_train_bwd(Backend, const BatchNormTrainBwd<T>& a);
template <class T> void batch_norm_eval_bwd(Backend, const BatchNormEvalBwd<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/batchnorm.cu): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void batch_norm_train_fwd(Backend, const BatchNormTrainFwd<T>& a);
template <class T> void batch_norm_eval_fwd(Backend, const BatchNormEvalFwd<T>& a);
template <class T> void batch_norm_train_bwd(Backend, const BatchNormTrainBwd<T>& a);
template <class T> void batch_norm_eval_bwd(Backend, const BatchNormEvalBwd<T>& a);
}  // namespace cuda

}  // namespace hemo
