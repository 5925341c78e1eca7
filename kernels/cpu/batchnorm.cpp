#include "kernels/batchnorm.h"

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/batchnorm_act.h"
#include "kernels/cpu/batchnorm_rows.h"
#include "kernels/cpu/bn_clones.h"

namespace hemo {

const char* bn_act_name(BnAct a) {
  switch (a) {
    case BnAct::none: return "none";
    case BnAct::relu: return "relu";
    case BnAct::relu6: return "relu6";
  }
  return "?";
}

namespace cpu {

namespace {
// Work below this many elements stays on one thread.
constexpr int64_t kParallelWork = 1 << 15;
constexpr int kLanes = 8;

// Channel sums in double, each over 8 interleaved partial sums ("lanes": element i goes to lane
// i mod 8, the tail past the last multiple of 8 to a ninth sum; the lanes are added pairwise at
// the end). One running double sum is a chain of dependent adds that the compiler may not reorder
// (that would change its rounding), so it ran at one element per add latency, and batch norm's
// statistics took as long as a MobileNetV2's convolutions. For float data the lanes are two
// four-double vectors, written with GCC's vector extensions: written as an array of 8 doubles, GCC
// left the loop scalar (a convert, subtract, multiply and add per element), and the fused
// backward was compute-bound. Both forms add the same terms in the same order, so the sums do not
// depend on which one ran; they differ from the sequential sum by rounding only.
//
// The four entry points are compiled for AVX2 and for the x86-64 baseline (kernels/cpu/bn_clones.h).
using v4f = float __attribute__((vector_size(16)));
using v4d = double __attribute__((vector_size(32)));

HEMO_BN_INLINE void widen4(const float* p, v4d& out) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(v, v4d);
}

HEMO_BN_INLINE double fold_lanes(const v4d (&a)[2]) {
  return ((a[0][0] + a[0][1]) + (a[0][2] + a[0][3])) + ((a[1][0] + a[1][1]) + (a[1][2] + a[1][3]));
}

HEMO_BN_INLINE double fold_lanes(const double (&a)[kLanes]) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// The generic form: sum over i of f(i) and g(i) (double data, the gradient checks' instantiation).
template <class F, class G>
HEMO_BN_INLINE void lane_sums2(int64_t len, F&& f, G&& g, double& sum_f, double& sum_g) {
  double af[kLanes] = {}, ag[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      af[j] += f(i + j);
      ag[j] += g(i + j);
    }
  double tf = 0, tg = 0;
  for (; i < len; ++i) tf += f(i), tg += g(i);
  sum_f += fold_lanes(af) + tf;
  sum_g += fold_lanes(ag) + tg;
}

// sum(x) and sum((x - mean)^2) of one block (with_dev false: the first only).
template <class T>
HEMO_BN_INLINE void block_stats(const T* x, int64_t len, double mean, bool with_dev, double& sum, double& ss) {
  if constexpr (std::is_same_v<T, float>) {
    const v4d m = {mean, mean, mean, mean};
    v4d a[2] = {}, q[2] = {};
    int64_t i = 0;
    if (with_dev) {
      for (; i + kLanes <= len; i += kLanes)
        for (int j = 0; j < 2; ++j) {
          v4d d;
          widen4(x + i + 4 * j, d);
          d -= m;
          q[j] += d * d;
        }
    } else {
      for (; i + kLanes <= len; i += kLanes)
        for (int j = 0; j < 2; ++j) {
          v4d v;
          widen4(x + i + 4 * j, v);
          a[j] += v;
        }
    }
    double ta = 0, tq = 0;
    for (; i < len; ++i) {
      const double d = x[i] - mean;
      ta += x[i], tq += d * d;
    }
    if (with_dev) {
      ss += fold_lanes(q) + tq;
    } else {
      sum += fold_lanes(a) + ta;
    }
  } else {
    double unused = 0;
    if (with_dev) {
      lane_sums2(len, [x, mean](int64_t i) { return (x[i] - mean) * (x[i] - mean); }, [](int64_t) { return 0.0; }, ss,
                 unused);
    } else {
      lane_sums2(len, [x](int64_t i) { return static_cast<double>(x[i]); }, [](int64_t) { return 0.0; }, sum, unused);
    }
  }
}

// sum(g) and sum(g (x - mean)) of one block.
template <class T>
HEMO_BN_INLINE void block_grad_sums(const T* g, const T* x, int64_t len, double mean, double& sum_g, double& sum_g_xc) {
  if constexpr (std::is_same_v<T, float>) {
    const v4d m = {mean, mean, mean, mean};
    v4d a[2] = {}, b[2] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes)
      for (int j = 0; j < 2; ++j) {
        v4d gd, xd;
        widen4(g + i + 4 * j, gd);
        widen4(x + i + 4 * j, xd);
        a[j] += gd;
        b[j] += gd * (xd - m);
      }
    double ta = 0, tb = 0;
    for (; i < len; ++i) ta += g[i], tb += static_cast<double>(g[i]) * (x[i] - mean);
    sum_g += fold_lanes(a) + ta;
    sum_g_xc += fold_lanes(b) + tb;
  } else {
    lane_sums2(len, [g](int64_t i) { return static_cast<double>(g[i]); },
               [g, x, mean](int64_t i) { return static_cast<double>(g[i]) * (x[i] - mean); }, sum_g, sum_g_xc);
  }
}

// The start of batch b's hw-element block of channel k.
template <class T>
HEMO_BN_INLINE T* block(T* base, int64_t b, int64_t c, int64_t hw, int64_t k) {
  return base ? base + (b * c + k) * hw : nullptr;
}

// y = act(alpha x + shift (+ r)) over channel k; r (the residual) may be null.
template <BnAct A, class T>
HEMO_BN_INLINE void affine_channel(int64_t n, int64_t c, int64_t hw, int64_t k, const T* x, const T* r, T* y,
                                   double alpha, double shift) {
  const T a = static_cast<T>(alpha), s = static_cast<T>(shift);
  for (int64_t b = 0; b < n; ++b) {
    const T *xb = block(x, b, c, hw, k), *rb = block(r, b, c, hw, k);
    T* yb = block(y, b, c, hw, k);
    if (rb) {
      for (int64_t i = 0; i < hw; ++i) yb[i] = bn_act::forward(A, xb[i] * a + s, rb[i]);
    } else {
      for (int64_t i = 0; i < hw; ++i) yb[i] = bn_act::forward(A, xb[i] * a + s);
    }
  }
}

// The masked gradient g of one hw-element block: gy itself without an activation, else written
// into `scratch`. Computed in a loop of its own: inside the double sums below, GCC compiled the
// select to a branch per element.
template <BnAct A, class T>
HEMO_BN_INLINE const T* masked_block(const T* yb, const T* gb, int64_t hw, T* scratch) {
  if constexpr (A == BnAct::none) {
    return gb;
  } else {
    for (int64_t i = 0; i < hw; ++i) scratch[i] = bn_act::grad(A, yb[i], gb[i]);
    return scratch;
  }
}

// sum(g) and sum(g (x - mean)) over channel k, g the masked gradient; with an activation, the
// channel's g is left in scratch[0, n hw) for the input gradient's pass, which then reads neither
// y nor gy again (the fused backward moves 5 tensors' worth of memory, not 7).
template <BnAct A, class T>
HEMO_BN_INLINE void channel_grad_sums(int64_t n, int64_t c, int64_t hw, int64_t k, const T* x, const T* y, const T* gy,
                              double mean, T* scratch, double& sum_g, double& sum_g_xc) {
  sum_g = 0;
  sum_g_xc = 0;
  for (int64_t b = 0; b < n; ++b) {
    const T* xb = block(x, b, c, hw, k);
    const T* g = masked_block<A>(block(y, b, c, hw, k), block(gy, b, c, hw, k), hw, scratch + b * hw);
    block_grad_sums(g, xb, hw, mean, sum_g, sum_g_xc);
  }
}

// The residual's gradient of one block: the masked g, copied from where the input-gradient pass
// reads it (the per-thread scratch, still in cache: written to memory once, never read back).
template <class T>
HEMO_BN_INLINE void copy_block(const T* g, int64_t hw, T* out) {
  if (out) std::memcpy(out, g, static_cast<size_t>(hw) * sizeof(T));
}

// batch_norm_stats_from_sums, not inlined into the clones below (once per channel; hemo-infer-cpu's size).
template <class T>
[[gnu::noinline]] bool channel_from_sums(const T* sum, const T* sqsum, int64_t k, int64_t m, double& mean,
                                         double& m2) {
  return batch_norm_stats_from_sums(sum, sqsum, k, m, mean, m2);
}

template <BnAct A, class T>
HEMO_BN_CLONES void train_fwd(const BatchNormTrainFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T* x = a.x;
  const int64_t M = n * hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    double mean = 0, ss = 0;
    if (!channel_from_sums(a.sum, a.sqsum, k, M, mean, ss)) {
      double sum = 0, unused = 0;
      for (int64_t b = 0; b < n; ++b) block_stats(block(x, b, c, hw, k), hw, 0.0, false, sum, unused);
      mean = sum / static_cast<double>(M);
      // two passes: no cancellation in E[x^2] - mean^2
      for (int64_t b = 0; b < n; ++b) block_stats(block(x, b, c, hw, k), hw, mean, true, unused, ss);
    }
    const double var = ss / static_cast<double>(M);
    const double invstd = 1.0 / std::sqrt(var + a.eps);
    const double g = a.gamma ? static_cast<double>(a.gamma[k]) : 1.0, b = a.beta ? static_cast<double>(a.beta[k]) : 0.0;
    affine_channel<A>(n, c, hw, k, x, a.r, a.y, g * invstd, b - mean * g * invstd);
    a.save_mean[k] = static_cast<T>(mean);
    a.save_invstd[k] = static_cast<T>(invstd);
    const double momentum = a.momentum;
    if (a.running_mean) a.running_mean[k] = static_cast<T>((1 - momentum) * a.running_mean[k] + momentum * mean);
    if (a.running_var) {
      double unbiased = M > 1 ? ss / static_cast<double>(M - 1) : var;
      a.running_var[k] = static_cast<T>((1 - momentum) * a.running_var[k] + momentum * unbiased);
    }
  }
}

template <BnAct A, class T>
HEMO_BN_CLONES void eval_fwd(const BatchNormEvalFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    T alpha, shift;
    batch_norm_eval_coefs(a.gamma, a.beta, a.running_mean, a.running_var, a.eps, k, alpha, shift);
    affine_channel<A>(n, c, hw, k, a.x, a.r, a.y, alpha, shift);  // T -> double -> T: exact
  }
}

template <BnAct A, class T>
HEMO_BN_CLONES void train_bwd(const BatchNormTrainBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T *x = a.x, *y = A == BnAct::none ? nullptr : a.y, *gy = a.gy, *gamma = a.gamma;
  T *gx = a.gx, *ggamma = a.ggamma, *gbeta = a.gbeta, *gr = a.gr;
  const double M = static_cast<double>(n * hw);
#pragma omp parallel if (n * c * hw > kParallelWork)
  {
    std::vector<T> scratch(A == BnAct::none ? 0 : static_cast<size_t>(n * hw));  // one channel's g
#pragma omp for schedule(static)
    for (int64_t k = 0; k < c; ++k) {
      const double mean = a.save_mean[k], invstd = a.save_invstd[k];
      double sum_g, sum_g_xc;
      channel_grad_sums<A>(n, c, hw, k, x, y, gy, mean, scratch.data(), sum_g, sum_g_xc);
      const double sum_g_xhat = sum_g_xc * invstd;
      if (gbeta) gbeta[k] = static_cast<T>(sum_g);
      if (ggamma) ggamma[k] = static_cast<T>(sum_g_xhat);
      if (!gx && !gr) continue;
      // gx = gamma invstd (g - sum_g / M - xhat sum_g_xhat / M), xhat = (x - mean) invstd; gr = g
      const double gm = gamma ? static_cast<double>(gamma[k]) : 1.0;
      const T coef = static_cast<T>(gm * invstd);
      const T proj = static_cast<T>(sum_g_xhat * invstd / M);  // multiplies (x - mean)
      const T mean_g = static_cast<T>(sum_g / M), mu = static_cast<T>(mean);
      for (int64_t b = 0; b < n; ++b) {
        const T* xb = block(x, b, c, hw, k);
        const T* g = A == BnAct::none ? block(gy, b, c, hw, k) : scratch.data() + b * hw;
        copy_block(g, hw, block(gr, b, c, hw, k));
        if (!gx) continue;
        T* ob = block(gx, b, c, hw, k);
        for (int64_t i = 0; i < hw; ++i) ob[i] = coef * (g[i] - mean_g - (xb[i] - mu) * proj);
      }
    }
  }
}

template <BnAct A, class T>
HEMO_BN_CLONES void eval_bwd(const BatchNormEvalBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  const T *x = a.x, *y = A == BnAct::none ? nullptr : a.y, *gy = a.gy, *gamma = a.gamma;
  T *gx = a.gx, *ggamma = a.ggamma, *gbeta = a.gbeta, *gr = a.gr;
#pragma omp parallel if (n * c * hw > kParallelWork)
  {
    std::vector<T> scratch(A == BnAct::none ? 0 : static_cast<size_t>(n * hw));  // one channel's g
#pragma omp for schedule(static)
    for (int64_t k = 0; k < c; ++k) {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var[k]) + a.eps);
      const bool summed = gbeta || ggamma;  // then scratch already holds the channel's masked g
      if (summed) {
        double sum_g, sum_g_xc;
        channel_grad_sums<A>(n, c, hw, k, x, y, gy, static_cast<double>(a.running_mean[k]), scratch.data(), sum_g,
                             sum_g_xc);
        if (gbeta) gbeta[k] = static_cast<T>(sum_g);
        if (ggamma) ggamma[k] = static_cast<T>(sum_g_xc * invstd);
      }
      if (!gx && !gr) continue;
      const T coef = static_cast<T>((gamma ? static_cast<double>(gamma[k]) : 1.0) * invstd), zero = static_cast<T>(0.0);
      for (int64_t b = 0; b < n; ++b) {
        const T* g = A == BnAct::none ? block(gy, b, c, hw, k)
                     : summed         ? scratch.data() + b * hw
                                      : masked_block<A>(block(y, b, c, hw, k), block(gy, b, c, hw, k), hw,
                                                        scratch.data() + b * hw);
        copy_block(g, hw, block(gr, b, c, hw, k));
        if (!gx) continue;
        T* ob = block(gx, b, c, hw, k);
        for (int64_t i = 0; i < hw; ++i) ob[i] = g[i] * coef + zero;
      }
    }
  }
}
}  // namespace

template <class T>
void batch_norm_train_fwd(Backend, const BatchNormTrainFwd<T>& a) {
  // [M, C] (BatchNorm1d, channels-last): rows in memory order (kernels/cpu/batchnorm_rows.h).
  if (a.shape.hw == 1)
    return bn_act::with_kind(a.act, [&](auto kind) { rows::train_fwd<kind.value>(a); });
  bn_act::with_kind(a.act, [&](auto kind) { train_fwd<kind.value>(a); });
}

template <class T>
void batch_norm_eval_fwd(Backend, const BatchNormEvalFwd<T>& a) {
  // [M, C] (BatchNorm1d, channels-last): rows in memory order (kernels/cpu/batchnorm_rows.h).
  if (a.shape.hw == 1)
    return bn_act::with_kind(a.act, [&](auto kind) { rows::eval_fwd<kind.value>(a); });
  bn_act::with_kind(a.act, [&](auto kind) { eval_fwd<kind.value>(a); });
}

template <class T>
void batch_norm_train_bwd(Backend, const BatchNormTrainBwd<T>& a) {
  // [M, C] (BatchNorm1d, channels-last): rows in memory order (kernels/cpu/batchnorm_rows.h).
  if (a.shape.hw == 1)
    return bn_act::with_kind(a.act, [&](auto kind) { rows::train_bwd<kind.value>(a); });
  bn_act::with_kind(a.act, [&](auto kind) { train_bwd<kind.value>(a); });
}

template <class T>
void batch_norm_eval_bwd(Backend, const BatchNormEvalBwd<T>& a) {
  // [M, C] (BatchNorm1d, channels-last): rows in memory order (kernels/cpu/batchnorm_rows.h).
  if (a.shape.hw == 1)
    return bn_act::with_kind(a.act, [&](auto kind) { rows::eval_bwd<kind.value>(a); });
  bn_act::with_kind(a.act, [&](auto kind) { eval_bwd<kind.value>(a); });
}

#define HEMO_BN_INSTANTIATE(T)                                              \
  template void batch_norm_train_fwd<T>(Backend, const BatchNormTrainFwd<T>&); \
  template void batch_norm_eval_fwd<T>(Backend, const BatchNormEvalFwd<T>&);   \
  template void batch_norm_train_bwd<T>(Backend, const BatchNormTrainBwd<T>&); \
  template void batch_norm_eval_bwd<T>(Backend, const BatchNormEvalBwd<T>&);
HEMO_BN_INSTANTIATE(float)
HEMO_BN_INSTANTIATE(double)
#undef HEMO_BN_INSTANTIATE

}  // namespace cpu
}  // namespace hemo
