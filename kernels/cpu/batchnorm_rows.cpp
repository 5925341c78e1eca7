// Batch norm over the rows of a [M, C] matrix (kernels/cpu/batchnorm_rows.h).
#include "kernels/cpu/batchnorm_rows.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/batchnorm_act.h"
#include "kernels/cpu/bn_clones.h"

namespace hemo::cpu::rows {
namespace {
// The entry points are compiled for AVX2 and for the x86-64 baseline (kernels/cpu/bn_clones.h).

constexpr int64_t kChunkRows = 128;
// Work below this many elements stays on one thread.
constexpr int64_t kParallelWork = 1 << 15;

// Each chunk's row count, and its per-channel sums of the fields written by `fill`, in double.
struct Chunks {
  int64_t m, c, count;
  std::vector<double> a, b;  // [count][c]
  Chunks(int64_t m_, int64_t c_) : m(m_), c(c_), count((m_ + kChunkRows - 1) / kChunkRows) {
    a.assign(static_cast<size_t>(count * c), 0.0);
    b.assign(static_cast<size_t>(count * c), 0.0);
  }
  int64_t begin(int64_t i) const { return i * kChunkRows; }
  int64_t end(int64_t i) const { return std::min(m, (i + 1) * kChunkRows); }
  double* pa(int64_t i) { return a.data() + i * c; }
  double* pb(int64_t i) { return b.data() + i * c; }
};

// mean[k] and m2[k] from the convolution's sums for the channels where they are usable
// (kernels/batchnorm.h: batch_norm_stats_from_sums), sizing both to c; how many channels that was
// (0 without sums). Once per channel, so not cloned: the clones stay small (hemo-infer-cpu's size).
template <class T>
[[gnu::noinline]] int64_t from_sums(const BatchNormTrainFwd<T>& a, std::vector<double>& mean, std::vector<double>& m2) {
  if (!a.sum) return 0;
  const int64_t c = a.shape.c;
  mean.resize(static_cast<size_t>(c));
  m2.resize(static_cast<size_t>(c));
  int64_t used = 0;
  for (int64_t k = 0; k < c; ++k)
    used += batch_norm_stats_from_sums(a.sum, a.sqsum, k, a.shape.n, mean[static_cast<size_t>(k)],
                                       m2[static_cast<size_t>(k)]);
  return used;
}

// Per channel: mean and M2 (sum of squared deviations from the mean) over all rows.
template <class T>
HEMO_BN_INLINE void statistics(int64_t m, int64_t c, const T* x, std::vector<double>& mean, std::vector<double>& m2) {
  Chunks ch(m, c);
#pragma omp parallel for schedule(static) if (m * c > kParallelWork)
  for (int64_t i = 0; i < ch.count; ++i) {
    double *sum = ch.pa(i), *dev = ch.pb(i);
    const int64_t r0 = ch.begin(i), r1 = ch.end(i);
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      for (int64_t k = 0; k < c; ++k) sum[k] += static_cast<double>(xr[k]);
    }
    const double inv = 1.0 / static_cast<double>(r1 - r0);
    for (int64_t k = 0; k < c; ++k) sum[k] *= inv;  // now the chunk's mean
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      for (int64_t k = 0; k < c; ++k) {
        const double d = static_cast<double>(xr[k]) - sum[k];
        dev[k] += d * d;
      }
    }
  }
  mean.assign(static_cast<size_t>(c), 0.0);
  m2.assign(static_cast<size_t>(c), 0.0);
  for (int64_t i = 0; i < ch.count; ++i) {
    const double rows = static_cast<double>(ch.end(i) - ch.begin(i));
    for (int64_t k = 0; k < c; ++k) mean[static_cast<size_t>(k)] += ch.pa(i)[k] * rows;
  }
  for (int64_t k = 0; k < c; ++k) mean[static_cast<size_t>(k)] /= static_cast<double>(m);
  for (int64_t i = 0; i < ch.count; ++i) {
    const double rows = static_cast<double>(ch.end(i) - ch.begin(i));
    for (int64_t k = 0; k < c; ++k) {
      const double d = ch.pa(i)[k] - mean[static_cast<size_t>(k)];
      m2[static_cast<size_t>(k)] += ch.pb(i)[k] + rows * d * d;
    }
  }
}

// y[r][k] = act(x[r][k] alpha[k] + shift[k] (+ res[r][k])); res (the residual) may be null.
template <BnAct A, class T>
HEMO_BN_INLINE void affine(int64_t m, int64_t c, const T* x, const T* res, const std::vector<T>& alpha,
                           const std::vector<T>& shift, T* y) {
  const T *al = alpha.data(), *sh = shift.data();
#pragma omp parallel for schedule(static) if (m * c > kParallelWork)
  for (int64_t r = 0; r < m; ++r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    if (res) {
      const T* rr = res + r * c;
      for (int64_t k = 0; k < c; ++k) yr[k] = bn_act::forward(A, xr[k] * al[k] + sh[k], rr[k]);
    } else {
      for (int64_t k = 0; k < c; ++k) yr[k] = bn_act::forward(A, xr[k] * al[k] + sh[k]);
    }
  }
}

// The masked gradients of row r: gres[k] = act'-masked gy (read from y) where gres is given (the
// residual's gradient), and out[k] = f(k, g) where out is given.
template <BnAct A, class T, class F>
HEMO_BN_INLINE void masked_row(int64_t c, const T* yr, const T* gr, T* gres, T* out, F&& f) {
  auto g_at = [&](int64_t k) { return A == BnAct::none ? gr[k] : bn_act::grad(A, yr[k], gr[k]); };
  if (gres && out) {
    for (int64_t k = 0; k < c; ++k) {
      const T g = g_at(k);
      gres[k] = g;
      out[k] = f(k, g);
    }
  } else if (out) {
    for (int64_t k = 0; k < c; ++k) out[k] = f(k, g_at(k));
  } else if (gres) {
    for (int64_t k = 0; k < c; ++k) gres[k] = g_at(k);
  }
}

// Per channel: sum(g) and sum(g (x - mean)), g = act'-masked gy (read from y), in double.
template <BnAct A, class T>
HEMO_BN_INLINE void grad_sums(int64_t m, int64_t c, const T* x, const T* y, const T* gy, const double* mean,
                              std::vector<double>& sum_g, std::vector<double>& sum_gxc) {
  Chunks ch(m, c);
#pragma omp parallel for schedule(static) if (m * c > kParallelWork)
  for (int64_t i = 0; i < ch.count; ++i) {
    double *sg = ch.pa(i), *sx = ch.pb(i);
    for (int64_t r = ch.begin(i); r < ch.end(i); ++r) {
      const T *xr = x + r * c, *gr = gy + r * c, *yr = A == BnAct::none ? nullptr : y + r * c;
      for (int64_t k = 0; k < c; ++k) {
        const T g = A == BnAct::none ? gr[k] : bn_act::grad(A, yr[k], gr[k]);
        sg[k] += static_cast<double>(g);
        sx[k] += static_cast<double>(g) * (static_cast<double>(xr[k]) - mean[k]);
      }
    }
  }
  sum_g.assign(static_cast<size_t>(c), 0.0);
  sum_gxc.assign(static_cast<size_t>(c), 0.0);
  for (int64_t i = 0; i < ch.count; ++i)
    for (int64_t k = 0; k < c; ++k) {
      sum_g[static_cast<size_t>(k)] += ch.pa(i)[k];
      sum_gxc[static_cast<size_t>(k)] += ch.pb(i)[k];
    }
}

template <class T>
double gamma_of(const T* gamma, int64_t k) {
  return gamma ? static_cast<double>(gamma[k]) : 1.0;
}
}  // namespace

// Every channel's mean and M2: from the convolution's sums where usable, else the two passes. One
// function per element type (not per activation), cloned for its vectorized passes.
template <class T>
[[gnu::noinline]] HEMO_BN_CLONES void channel_statistics(const BatchNormTrainFwd<T>& a, std::vector<double>& mean,
                                                         std::vector<double>& m2) {
  if (from_sums(a, mean, m2) == a.shape.c) return;
  statistics(a.shape.n, a.shape.c, a.x, mean, m2);
  from_sums(a, mean, m2);
}

template <BnAct A, class T>
HEMO_BN_CLONES void train_fwd(const BatchNormTrainFwd<T>& a) {
  const int64_t m = a.shape.n, c = a.shape.c;
  std::vector<double> mean, m2;
  channel_statistics(a, mean, m2);
  std::vector<T> alpha(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const size_t u = static_cast<size_t>(k);
    const double var = m2[u] / static_cast<double>(m), invstd = 1.0 / std::sqrt(var + a.eps);
    const double g = gamma_of(a.gamma, k), b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    alpha[u] = static_cast<T>(g * invstd);
    shift[u] = static_cast<T>(b - mean[u] * g * invstd);
    a.save_mean[k] = static_cast<T>(mean[u]);
    a.save_invstd[k] = static_cast<T>(invstd);
    if (a.running_mean) a.running_mean[k] = static_cast<T>((1 - a.momentum) * a.running_mean[k] + a.momentum * mean[u]);
    if (a.running_var) {
      const double unbiased = m > 1 ? m2[u] / static_cast<double>(m - 1) : var;
      a.running_var[k] = static_cast<T>((1 - a.momentum) * a.running_var[k] + a.momentum * unbiased);
    }
  }
  affine<A>(m, c, a.x, a.r, alpha, shift, a.y);
}

template <BnAct A, class T>
HEMO_BN_CLONES void eval_fwd(const BatchNormEvalFwd<T>& a) {
  const int64_t m = a.shape.n, c = a.shape.c;
  std::vector<T> alpha(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[k]) + a.eps);
    const double g = gamma_of(a.gamma, k), b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    alpha[static_cast<size_t>(k)] = static_cast<T>(g * invstd);
    shift[static_cast<size_t>(k)] = static_cast<T>(b - static_cast<double>(a.running_mean[k]) * g * invstd);
  }
  affine<A>(m, c, a.x, a.r, alpha, shift, a.y);
}

template <BnAct A, class T>
HEMO_BN_CLONES void train_bwd(const BatchNormTrainBwd<T>& a) {
  const int64_t m = a.shape.n, c = a.shape.c;
  std::vector<double> mean(static_cast<size_t>(c)), sum_g, sum_gxc;
  for (int64_t k = 0; k < c; ++k) mean[static_cast<size_t>(k)] = a.save_mean[k];
  grad_sums<A>(m, c, a.x, a.y, a.gy, mean.data(), sum_g, sum_gxc);
  std::vector<T> coef(static_cast<size_t>(c)), proj(static_cast<size_t>(c)), mean_g(static_cast<size_t>(c)),
      mu(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const size_t u = static_cast<size_t>(k);
    const double invstd = a.save_invstd[k], sum_g_xhat = sum_gxc[u] * invstd;
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sum_g[u]);
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sum_g_xhat);
    coef[u] = static_cast<T>(gamma_of(a.gamma, k) * invstd);
    proj[u] = static_cast<T>(sum_g_xhat * invstd / static_cast<double>(m));
    mean_g[u] = static_cast<T>(sum_g[u] / static_cast<double>(m));
    mu[u] = static_cast<T>(mean[u]);
  }
  if (!a.gx && !a.gr) return;
  // gx = gamma invstd (g - sum_g / M - (x - mean) invstd sum_g_xhat / M); gr = g
  const T *co = coef.data(), *pr = proj.data(), *mg = mean_g.data(), *mm = mu.data();
#pragma omp parallel for schedule(static) if (m * c > kParallelWork)
  for (int64_t r = 0; r < m; ++r) {
    const T *xr = a.x + r * c, *yr = A == BnAct::none ? nullptr : a.y + r * c;
    masked_row<A>(c, yr, a.gy + r * c, a.gr ? a.gr + r * c : nullptr, a.gx ? a.gx + r * c : nullptr,
                  [&](int64_t k, T g) { return co[k] * (g - mg[k] - (xr[k] - mm[k]) * pr[k]); });
  }
}

template <BnAct A, class T>
HEMO_BN_CLONES void eval_bwd(const BatchNormEvalBwd<T>& a) {
  const int64_t m = a.shape.n, c = a.shape.c;
  std::vector<T> coef(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[k]) + a.eps);
    coef[static_cast<size_t>(k)] = static_cast<T>(gamma_of(a.gamma, k) * invstd);
  }
  if (a.gbeta || a.ggamma) {
    std::vector<double> mean(static_cast<size_t>(c)), sum_g, sum_gxc;
    for (int64_t k = 0; k < c; ++k) mean[static_cast<size_t>(k)] = a.running_mean[k];
    grad_sums<A>(m, c, a.x, a.y, a.gy, mean.data(), sum_g, sum_gxc);
    for (int64_t k = 0; k < c; ++k) {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[k]) + a.eps);
      if (a.gbeta) a.gbeta[k] = static_cast<T>(sum_g[static_cast<size_t>(k)]);
      if (a.ggamma) a.ggamma[k] = static_cast<T>(sum_gxc[static_cast<size_t>(k)] * invstd);
    }
  }
  if (!a.gx && !a.gr) return;
  const T* co = coef.data();
  const T zero = static_cast<T>(0.0);
#pragma omp parallel for schedule(static) if (m * c > kParallelWork)
  for (int64_t r = 0; r < m; ++r) {
    const T* yr = A == BnAct::none ? nullptr : a.y + r * c;
    masked_row<A>(c, yr, a.gy + r * c, a.gr ? a.gr + r * c : nullptr, a.gx ? a.gx + r * c : nullptr,
                  [&](int64_t k, T g) { return g * co[k] + zero; });
  }
}

#define HEMO_BN_ROWS_INSTANTIATE(A, T)                                   \
  template void train_fwd<A, T>(const BatchNormTrainFwd<T>&);             \
  template void eval_fwd<A, T>(const BatchNormEvalFwd<T>&);               \
  template void train_bwd<A, T>(const BatchNormTrainBwd<T>&);             \
  template void eval_bwd<A, T>(const BatchNormEvalBwd<T>&);
#define HEMO_BN_ROWS_TYPES(A)         \
  HEMO_BN_ROWS_INSTANTIATE(A, float)  \
  HEMO_BN_ROWS_INSTANTIATE(A, double)
HEMO_BN_ROWS_TYPES(BnAct::none)
HEMO_BN_ROWS_TYPES(BnAct::relu)
HEMO_BN_ROWS_TYPES(BnAct::relu6)
#undef HEMO_BN_ROWS_TYPES
#undef HEMO_BN_ROWS_INSTANTIATE

}  // namespace hemo::cpu::rows
