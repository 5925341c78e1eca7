// CUDA batch norm of a [M, C] matrix: the hw == 1 shapes of kernels/batchnorm.h (BatchNorm1d's
// [N, C], and a channels-last activation seen as [N H W, C]), which batchnorm.cu hands here. The
// CPU's algorithm (kernels/cpu/batchnorm_rows.h) step for step, so the two devices give the same
// bits: the rows are cut into chunks of 128; one thread per (chunk, channel) sums its chunk in
// double, and a warp's 32 threads are 32 consecutive channels of the same row, so every read is
// coalesced (the per-channel kernels of batchnorm.cu would read this layout at a stride of C);
// then one thread per channel merges the chunks in order (Chan et al.'s update for the variance)
// and computes the channel's coefficients; the per-element maps run in memory order. Compiled with
// -fmad=false, as batchnorm.cu (kernels/CMakeLists.txt).
#include "core/cuda/device_buffer.h"
#include "kernels/batchnorm.h"
#include "kernels/batchnorm_act.h"
#include "kernels/cuda/batchnorm_rows.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda::rows {

namespace {
constexpr int64_t kChunkRows = 128;  // as the CPU's: the chunks decide the summation order
constexpr int kLanes = 32, kChunksPerBlock = 8;

struct Chunks {
  int64_t m, c, count;
  __device__ int64_t begin(int64_t i) const { return i * kChunkRows; }
  __device__ int64_t end(int64_t i) const { return min(m, (i + 1) * kChunkRows); }
};
Chunks chunks(int64_t m, int64_t c) { return {m, c, (m + kChunkRows - 1) / kChunkRows}; }

// Visits this thread's (chunk, channel) pairs: fn(i, k).
template <class Fn>
__device__ void for_each_chunk(const Chunks& ch, Fn fn) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * kLanes + threadIdx.x;
  if (k >= ch.c) return;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * kChunksPerBlock + threadIdx.y; i < ch.count;
       i += static_cast<int64_t>(gridDim.y) * kChunksPerBlock)
    fn(i, k);
}

dim3 chunk_grid(const Chunks& ch) {
  const int64_t y = (ch.count + kChunksPerBlock - 1) / kChunksPerBlock;
  return dim3(static_cast<unsigned>((ch.c + kLanes - 1) / kLanes), static_cast<unsigned>(y < 65535 ? y : 65535));
}
const dim3 kChunkBlock(kLanes, kChunksPerBlock);

// Per (chunk, channel): mean[i][k] (the chunk's mean) and dev[i][k] (its sum of squared
// deviations from that mean).
// A channel whose statistics come from the convolution's sums (sum may be null) is skipped.
template <class T>
__global__ void chunk_stats_kernel(Chunks ch, const T* __restrict__ x, const T* sum, const T* sqsum,
                                   double* __restrict__ mean, double* __restrict__ dev) {
  for_each_chunk(ch, [&](int64_t i, int64_t k) {
    double unused_mean, unused_m2;
    if (batch_norm_stats_from_sums(sum, sqsum, k, ch.m, unused_mean, unused_m2)) return;
    const int64_t r0 = ch.begin(i), r1 = ch.end(i);
    double s = 0;
    for (int64_t r = r0; r < r1; ++r) s += static_cast<double>(x[r * ch.c + k]);
    const double mu = s * (1.0 / static_cast<double>(r1 - r0));
    double d2 = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const double d = static_cast<double>(x[r * ch.c + k]) - mu;
      d2 += d * d;
    }
    mean[i * ch.c + k] = mu;
    dev[i * ch.c + k] = d2;
  });
}

// Per (chunk, channel): the sums of g and g (x - mean_k), g the act'-masked gradient.
template <class T>
__global__ void chunk_grad_sums_kernel(Chunks ch, BnAct act, const T* __restrict__ x, const T* __restrict__ y,
                                       const T* __restrict__ gy, const T* __restrict__ mean, double* __restrict__ sg,
                                       double* __restrict__ sx) {
  for_each_chunk(ch, [&](int64_t i, int64_t k) {
    const double mu = static_cast<double>(mean[k]);
    double s1 = 0, s2 = 0;
    for (int64_t r = ch.begin(i); r < ch.end(i); ++r) {
      const int64_t at = r * ch.c + k;
      const T g = act == BnAct::none ? gy[at] : bn_act::grad(act, y[at], gy[at]);
      s1 += static_cast<double>(g);
      s2 += static_cast<double>(g) * (static_cast<double>(x[at]) - mu);
    }
    sg[i * ch.c + k] = s1;
    sx[i * ch.c + k] = s2;
  });
}

// One thread per channel: the chunks merged in order, then the forward's coefficients
// (coef[2k] = gamma invstd, coef[2k + 1] = beta - mean gamma invstd), the saved statistics and the
// running ones.
template <class T>
__global__ void fwd_merge_kernel(Chunks ch, const BatchNormTrainFwd<T> a, const double* __restrict__ cmean,
                                 const double* __restrict__ cdev, T* __restrict__ coef) {
  for (int64_t k : grid_stride(ch.c)) {
    double mean = 0, m2 = 0;  // from the convolution's sums (no chunks computed), or the chunks merged
    if (!batch_norm_stats_from_sums(a.sum, a.sqsum, k, ch.m, mean, m2)) {
      for (int64_t i = 0; i < ch.count; ++i)
        mean += cmean[i * ch.c + k] * static_cast<double>(ch.end(i) - ch.begin(i));
      mean /= static_cast<double>(ch.m);
      for (int64_t i = 0; i < ch.count; ++i) {
        const double rows = static_cast<double>(ch.end(i) - ch.begin(i)), d = cmean[i * ch.c + k] - mean;
        m2 += cdev[i * ch.c + k] + rows * d * d;
      }
    }
    const double var = m2 / static_cast<double>(ch.m), invstd = 1.0 / sqrt(var + a.eps);
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    coef[2 * k] = static_cast<T>(g * invstd);
    coef[2 * k + 1] = static_cast<T>(b - mean * g * invstd);
    a.save_mean[k] = static_cast<T>(mean);
    a.save_invstd[k] = static_cast<T>(invstd);
    if (a.running_mean)
      a.running_mean[k] = static_cast<T>((1 - a.momentum) * static_cast<double>(a.running_mean[k]) + a.momentum * mean);
    if (a.running_var) {
      const double unbiased = ch.m > 1 ? m2 / static_cast<double>(ch.m - 1) : var;
      a.running_var[k] =
          static_cast<T>((1 - a.momentum) * static_cast<double>(a.running_var[k]) + a.momentum * unbiased);
    }
  }
}

// The chunks' gradient sums merged in order into sums[2k] = sum g, sums[2k + 1] = sum g (x - mean).
__device__ inline void merge_sums(const Chunks& ch, int64_t k, const double* sg, const double* sx, double& sum_g,
                                  double& sum_gxc) {
  sum_g = 0;
  sum_gxc = 0;
  for (int64_t i = 0; i < ch.count; ++i) {
    sum_g += sg[i * ch.c + k];
    sum_gxc += sx[i * ch.c + k];
  }
}

// One thread per channel: the parameter gradients and the input gradient's coefficients,
// coef[4k..4k+3] = gamma invstd, sum_g_xhat invstd / M, sum_g / M, mean.
template <class T>
__global__ void bwd_merge_kernel(Chunks ch, const BatchNormTrainBwd<T> a, const double* __restrict__ sg,
                                 const double* __restrict__ sx, T* __restrict__ coef) {
  for (int64_t k : grid_stride(ch.c)) {
    double sum_g, sum_gxc;
    merge_sums(ch, k, sg, sx, sum_g, sum_gxc);
    const double invstd = a.save_invstd[k], sum_g_xhat = sum_gxc * invstd;
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sum_g);
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sum_g_xhat);
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0;
    coef[4 * k] = static_cast<T>(g * invstd);
    coef[4 * k + 1] = static_cast<T>(sum_g_xhat * invstd / static_cast<double>(ch.m));
    coef[4 * k + 2] = static_cast<T>(sum_g / static_cast<double>(ch.m));
    coef[4 * k + 3] = a.save_mean[k];
  }
}

template <class T>
__global__ void eval_param_grads_kernel(Chunks ch, const BatchNormEvalBwd<T> a, const double* __restrict__ sg,
                                        const double* __restrict__ sx) {
  for (int64_t k : grid_stride(ch.c)) {
    double sum_g, sum_gxc;
    merge_sums(ch, k, sg, sx, sum_g, sum_gxc);
    const double invstd = 1.0 / sqrt(static_cast<double>(a.running_var[k]) + a.eps);
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sum_g);
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sum_gxc * invstd);
  }
}

// y = act(x coef[2k] + coef[2k + 1] (+ res)), k the column; res (the residual) may be null.
template <class T>
__global__ void affine_rows_kernel(int64_t total, int64_t c, BnAct act, const T* __restrict__ x,
                                   const T* __restrict__ res, const T* __restrict__ coef, T* __restrict__ y) {
  for (int64_t e : grid_stride(total)) {
    const int64_t k = e % c;
    const T v = x[e] * coef[2 * k] + coef[2 * k + 1];
    y[e] = res ? bn_act::forward(act, v, res[e]) : bn_act::forward(act, v);
  }
}

// gx = gamma invstd (g - sum_g / M - (x - mean) sum_g_xhat invstd / M) and gr = g, g the masked
// gradient, each where not null.
template <class T>
__global__ void train_gx_kernel(int64_t total, int64_t c, BnAct act, const T* __restrict__ x,
                                const T* __restrict__ y, const T* __restrict__ gy, const T* __restrict__ coef,
                                T* __restrict__ gx, T* __restrict__ gr) {
  for (int64_t e : grid_stride(total)) {
    const int64_t k = e % c;
    const T g = act == BnAct::none ? gy[e] : bn_act::grad(act, y[e], gy[e]);
    if (gx) gx[e] = coef[4 * k] * (g - coef[4 * k + 2] - (x[e] - coef[4 * k + 3]) * coef[4 * k + 1]);
    if (gr) gr[e] = g;
  }
}

// The chunk sums of the backward (both modes), in two scratch buffers of count x c doubles.
template <class T>
void grad_sums(const Chunks& ch, BnAct act, const T* x, const T* y, const T* gy, const T* mean, DeviceBuffer& sg,
               DeviceBuffer& sx) {
  const size_t bytes = static_cast<size_t>(ch.count * ch.c) * sizeof(double);
  sg = DeviceBuffer(bytes);
  sx = DeviceBuffer(bytes);
  HEMO_LAUNCH(chunk_grad_sums_kernel<T>, chunk_grid(ch), kChunkBlock, 0, ch, act, x, y, gy, mean, sg.as<double>(),
              sx.as<double>());
}
}  // namespace

template <class T>
void train_fwd(const BatchNormTrainFwd<T>& a) {
  const Chunks ch = chunks(a.shape.n, a.shape.c);
  const size_t bytes = static_cast<size_t>(ch.count * ch.c) * sizeof(double);
  const DeviceBuffer cmean(bytes), cdev(bytes), coef(static_cast<size_t>(2 * ch.c) * sizeof(T));
  HEMO_LAUNCH(chunk_stats_kernel<T>, chunk_grid(ch), kChunkBlock, 0, ch, a.x, a.sum, a.sqsum, cmean.as<double>(),
              cdev.as<double>());
  HEMO_LAUNCH(fwd_merge_kernel<T>, grid_for(ch.c, kThreads), kThreads, 0, ch, a, cmean.as<double>(),
              cdev.as<double>(), coef.as<T>());
  const int64_t total = ch.m * ch.c;
  HEMO_LAUNCH(affine_rows_kernel<T>, grid_for(total, kThreads), kThreads, 0, total, ch.c, a.act, a.x, a.r,
              coef.as<T>(), a.y);
}

template <class T>
void train_bwd(const BatchNormTrainBwd<T>& a) {
  const Chunks ch = chunks(a.shape.n, a.shape.c);
  DeviceBuffer sg, sx;
  grad_sums(ch, a.act, a.x, a.y, a.gy, a.save_mean, sg, sx);
  const DeviceBuffer coef(static_cast<size_t>(4 * ch.c) * sizeof(T));
  HEMO_LAUNCH(bwd_merge_kernel<T>, grid_for(ch.c, kThreads), kThreads, 0, ch, a, sg.as<double>(), sx.as<double>(),
              coef.as<T>());
  if (!a.gx && !a.gr) return;
  const int64_t total = ch.m * ch.c;
  HEMO_LAUNCH(train_gx_kernel<T>, grid_for(total, kThreads), kThreads, 0, total, ch.c, a.act, a.x, a.y, a.gy,
              coef.as<T>(), a.gx, a.gr);
}

template <class T>
void eval_param_grads(const BatchNormEvalBwd<T>& a) {
  const Chunks ch = chunks(a.shape.n, a.shape.c);
  DeviceBuffer sg, sx;
  grad_sums(ch, a.act, a.x, a.y, a.gy, a.running_mean, sg, sx);
  HEMO_LAUNCH(eval_param_grads_kernel<T>, grid_for(ch.c, kThreads), kThreads, 0, ch, a, sg.as<double>(),
              sx.as<double>());
}

template void train_fwd<float>(const BatchNormTrainFwd<float>&);
template void train_bwd<float>(const BatchNormTrainBwd<float>&);
template void eval_param_grads<float>(const BatchNormEvalBwd<float>&);

}  // namespace hemo::cuda::rows
