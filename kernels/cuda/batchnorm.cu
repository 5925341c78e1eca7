// CUDA batch norm (the contract is kernels/batchnorm.h). Channel statistics and gradient sums use
// one block per channel, accumulating in double as the CPU reference does, with the same two-pass
// variance; the per-element maps use the same float coefficients the reference computes, and this
// file is compiled with -fmad=false (kernels/CMakeLists.txt) so that they round as the CPU does.
// The fused activation (BnAct) and the fused residual are uniform runtime branches per element
// (kernels/batchnorm_act.h).
// The hw == 1 shapes ([M, C]: BatchNorm1d, and channels-last activations) go to
// kernels/cuda/batchnorm_rows.h, whose reductions read the rows in memory order.
#include "core/cuda/device_buffer.h"
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_act.h"
#include "kernels/cuda/batchnorm_rows.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
// Element j of channel k's M = n * hw elements sits at (b * c + k) * hw + i with j = b * hw + i.
__device__ inline int64_t channel_index(int64_t j, int64_t c, int64_t hw, int64_t k) {
  const int64_t b = j / hw;
  return (b * c + k) * hw + (j - b * hw);
}

template <class T>
__global__ void train_fwd_kernel(const BatchNormTrainFwd<T> args) {
  const int64_t n = args.shape.n, c = args.shape.c, hw = args.shape.hw;
  const T* __restrict__ x = args.x;
  const T* __restrict__ gamma = args.gamma;
  const T* __restrict__ beta = args.beta;
  const double momentum = args.momentum;
  T *running_mean = args.running_mean, *running_var = args.running_var;
  const int64_t k = blockIdx.x, M = n * hw;
  double mean = 0, ss = 0;  // from the convolution's sums (every thread the same), or two passes
  if (!batch_norm_stats_from_sums(args.sum, args.sqsum, k, M, mean, ss)) {
    double s = 0;
    for (int64_t j : block_stride(M)) s += static_cast<double>(x[channel_index(j, c, hw, k)]);
    mean = block_sum(s) / static_cast<double>(M);
    for (int64_t j : block_stride(M)) {  // two passes: no cancellation in E[x^2] - mean^2
      const double d = static_cast<double>(x[channel_index(j, c, hw, k)]) - mean;
      ss += d * d;
    }
    ss = block_sum(ss);
  }
  const double var = ss / static_cast<double>(M);
  const double invstd = 1.0 / sqrt(var + args.eps);
  const double g = gamma ? static_cast<double>(gamma[k]) : 1.0, bt = beta ? static_cast<double>(beta[k]) : 0.0;
  const T a = static_cast<T>(g * invstd), shift = static_cast<T>(bt - mean * g * invstd);
  T* __restrict__ y = args.y;
  const T* __restrict__ r = args.r;
  for (int64_t j : block_stride(M)) {
    const int64_t at = channel_index(j, c, hw, k);
    y[at] = r ? bn_act::forward(args.act, x[at] * a + shift, r[at]) : bn_act::forward(args.act, x[at] * a + shift);
  }
  if (threadIdx.x == 0) {
    args.save_mean[k] = static_cast<T>(mean);
    args.save_invstd[k] = static_cast<T>(invstd);
    if (running_mean) running_mean[k] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[k]) + momentum * mean);
    if (running_var) {
      const double unbiased = M > 1 ? ss / static_cast<double>(M - 1) : var;
      running_var[k] = static_cast<T>((1 - momentum) * static_cast<double>(running_var[k]) + momentum * unbiased);
    }
  }
}

// The masked gradient at `at`: gy where act' is 1 (read from the fused output y), else 0.
template <class T>
__device__ inline T masked(BnAct act, const T* y, const T* gy, int64_t at) {
  return act == BnAct::none ? gy[at] : bn_act::grad(act, y[at], gy[at]);
}

// sum(g) and sum(g (x - mean)) over channel k, g the masked gradient, returned to every thread of
// the block.
template <class T>
__device__ void channel_grad_sums(int64_t n, int64_t c, int64_t hw, int64_t k, BnAct act, const T* x, const T* y,
                                  const T* gy, double mean, double& sum_gy, double& sum_gy_xc) {
  double s1 = 0, s2 = 0;
  for (int64_t j : block_stride(n * hw)) {
    const int64_t at = channel_index(j, c, hw, k);
    const double g = static_cast<double>(masked(act, y, gy, at));
    s1 += g;
    s2 += g * (static_cast<double>(x[at]) - mean);
  }
  sum_gy = block_sum(s1);
  sum_gy_xc = block_sum(s2);
}

template <class T>
__global__ void train_bwd_kernel(const BatchNormTrainBwd<T> args) {
  const int64_t n = args.shape.n, c = args.shape.c, hw = args.shape.hw;
  const T* __restrict__ x = args.x;
  const T* __restrict__ gy = args.gy;
  const T* __restrict__ gamma = args.gamma;
  T* __restrict__ gx = args.gx;
  T* __restrict__ gr = args.gr;
  T *ggamma = args.ggamma, *gbeta = args.gbeta;
  const int64_t k = blockIdx.x;
  const double M = static_cast<double>(n * hw);
  const double mean = args.save_mean[k], invstd = args.save_invstd[k];
  double sum_gy, sum_gy_xc;
  channel_grad_sums(n, c, hw, k, args.act, x, args.y, gy, mean, sum_gy, sum_gy_xc);
  const double sum_gy_xhat = sum_gy_xc * invstd;
  if (threadIdx.x == 0) {
    if (gbeta) gbeta[k] = static_cast<T>(sum_gy);
    if (ggamma) ggamma[k] = static_cast<T>(sum_gy_xhat);
  }
  if (!gx && !gr) return;
  // gx = gamma invstd (g - sum_g / M - xhat sum_g_xhat / M), xhat = (x - mean) invstd; gr = g
  const double g = gamma ? static_cast<double>(gamma[k]) : 1.0;
  const T a = static_cast<T>(g * invstd), proj = static_cast<T>(sum_gy_xhat * invstd / M);
  const T mean_gy = static_cast<T>(sum_gy / M), mu = static_cast<T>(mean);
  for (int64_t j : block_stride(n * hw)) {
    const int64_t at = channel_index(j, c, hw, k);
    const T gm = masked(args.act, args.y, gy, at);
    if (gx) gx[at] = a * (gm - mean_gy - (x[at] - mu) * proj);
    if (gr) gr[at] = gm;
  }
}

// Per-channel affine coefficients of the eval map: coef[2k] = gamma invstd, coef[2k + 1] = the
// shift beta - running_mean gamma invstd (0 when with_shift is false: the input gradient).
template <class T>
__global__ void eval_coef_kernel(int64_t c, const T* __restrict__ gamma, const T* __restrict__ beta,
                                 const T* __restrict__ running_mean, const T* __restrict__ running_var, double eps,
                                 bool with_shift, T* __restrict__ coef) {
  for (int64_t k : grid_stride(c)) {
    batch_norm_eval_coefs(gamma, beta, running_mean, running_var, eps, k, coef[2 * k], coef[2 * k + 1]);
    if (!with_shift) coef[2 * k + 1] = T(0);
  }
}

// The eval maps. Forward (grad false): out = act(in coef + shift (+ res)), res the residual or
// null. Input gradient (grad true; in = gy, mask = the fused output y, read only with an
// activation): out = masked(in) coef + shift and gres = masked(in), each where not null.
template <class T>
__global__ void affine_kernel(int64_t total, int64_t c, int64_t hw, BnAct act, bool grad, const T* __restrict__ in,
                              const T* __restrict__ mask, const T* __restrict__ res, const T* __restrict__ coef,
                              T* __restrict__ out, T* __restrict__ gres) {
  for (int64_t i : grid_stride(total)) {
    const int64_t k = (i / hw) % c;
    if (grad) {
      const T g = masked(act, mask, in, i);
      if (out) out[i] = g * coef[2 * k] + coef[2 * k + 1];
      if (gres) gres[i] = g;
    } else if (res) {
      out[i] = bn_act::forward(act, in[i] * coef[2 * k] + coef[2 * k + 1], res[i]);
    } else {
      out[i] = bn_act::forward(act, in[i] * coef[2 * k] + coef[2 * k + 1]);
    }
  }
}

template <class T>
__global__ void eval_param_grad_kernel(int64_t n, int64_t c, int64_t hw, BnAct act, const T* __restrict__ x,
                                       const T* __restrict__ y, const T* __restrict__ gy,
                                       const T* __restrict__ running_mean,
                                       const T* __restrict__ running_var, double eps, T* __restrict__ ggamma,
                                       T* __restrict__ gbeta) {
  const int64_t k = blockIdx.x;
  double sum_gy, sum_gy_xc;
  channel_grad_sums(n, c, hw, k, act, x, y, gy, static_cast<double>(running_mean[k]), sum_gy, sum_gy_xc);
  if (threadIdx.x == 0) {
    const double invstd = 1.0 / sqrt(static_cast<double>(running_var[k]) + eps);
    if (gbeta) gbeta[k] = static_cast<T>(sum_gy);
    if (ggamma) ggamma[k] = static_cast<T>(sum_gy_xc * invstd);
  }
}

// affine_kernel with the eval coefficients: the forward (grad false: the shift, the residual res)
// or the input gradient (grad true: no shift; mask the fused output; gres the residual's gradient).
template <class T>
void eval_affine(int64_t n, int64_t c, int64_t hw, BnAct act, bool grad, const T* in, const T* mask, const T* res,
                 const T* gamma, const T* beta, const T* running_mean, const T* running_var, double eps, T* out,
                 T* gres) {
  const bool with_shift = !grad;
  const int64_t total = n * c * hw;
  if (c == 0) return;
  DeviceBuffer coef(static_cast<size_t>(2 * c) * sizeof(T));
  HEMO_LAUNCH(eval_coef_kernel<T>, grid_for(c, kThreads), kThreads, 0,
      c, gamma, beta, running_mean, running_var, eps, with_shift, coef.as<T>());
  if (total == 0) return;
  HEMO_LAUNCH(affine_kernel<T>, grid_for(total, kThreads), kThreads, 0, total, c, hw, act, grad, in, mask, res,
              coef.as<T>(), out, gres);
}
}  // namespace

template <class T>
void batch_norm_train_fwd(Backend, const BatchNormTrainFwd<T>& a) {
  if (a.shape.c == 0) return;
  if (a.shape.hw == 1 && a.shape.n > 0) return rows::train_fwd(a);
  HEMO_LAUNCH(train_fwd_kernel<T>, static_cast<unsigned>(a.shape.c), kReduceThreads, 0, a);
}

template <class T>
void batch_norm_eval_fwd(Backend, const BatchNormEvalFwd<T>& a) {
  const auto& s = a.shape;
  eval_affine(s.n, s.c, s.hw, a.act, false, a.x, static_cast<const T*>(nullptr), a.r, a.gamma, a.beta,
              a.running_mean, a.running_var, a.eps, a.y, static_cast<T*>(nullptr));
}

template <class T>
void batch_norm_train_bwd(Backend, const BatchNormTrainBwd<T>& a) {
  if (a.shape.c == 0 || (!a.gx && !a.ggamma && !a.gbeta && !a.gr)) return;
  if (a.shape.hw == 1 && a.shape.n > 0) return rows::train_bwd(a);
  HEMO_LAUNCH(train_bwd_kernel<T>, static_cast<unsigned>(a.shape.c), kReduceThreads, 0, a);
}

template <class T>
void batch_norm_eval_bwd(Backend, const BatchNormEvalBwd<T>& a) {
  const auto& s = a.shape;
  if (s.c == 0) return;
  if ((a.ggamma || a.gbeta) && s.hw == 1 && s.n > 0) {
    rows::eval_param_grads(a);
  } else if (a.ggamma || a.gbeta) {
    HEMO_LAUNCH(eval_param_grad_kernel<T>, static_cast<unsigned>(s.c), kReduceThreads, 0,
        s.n, s.c, s.hw, a.act, a.x, a.y, a.gy, a.running_mean, a.running_var, a.eps, a.ggamma, a.gbeta);
  }
  if (a.gx || a.gr)
    eval_affine(s.n, s.c, s.hw, a.act, true, a.gy, a.act == BnAct::none ? static_cast<const T*>(nullptr) : a.y,
                static_cast<const T*>(nullptr), a.gamma, static_cast<const T*>(nullptr), a.running_mean,
                a.running_var, a.eps, a.gx, a.gr);
}

#define HEMO_BN_INSTANTIATE(T)                                              \
  template void batch_norm_train_fwd<T>(Backend, const BatchNormTrainFwd<T>&); \
  template void batch_norm_eval_fwd<T>(Backend, const BatchNormEvalFwd<T>&);   \
  template void batch_norm_train_bwd<T>(Backend, const BatchNormTrainBwd<T>&); \
  template void batch_norm_eval_bwd<T>(Backend, const BatchNormEvalBwd<T>&);
HEMO_BN_INSTANTIATE(float)
#undef HEMO_BN_INSTANTIATE

}  // namespace hemo::cuda
