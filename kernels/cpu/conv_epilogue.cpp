// The CPU convolution epilogue (contract in kernels/conv_epilogue.h): per channel, its bias, then
// the eval batch norm's affine map, then the residual and the activation, each element once.
// NCHW runs a plane per (image, channel); channels-last runs rows of k channels, each step over
// the whole row so that the loop vectorizes across channels. Each element is read and written
// once, every step in one loop, compiled per activation (the kind a constant, so that it
// vectorizes) and, for float, as batch norm's kernels, for AVX2 and the baseline
// (kernels/cpu/bn_clones.h: no FMA in either, so both give the same bits).
#include "kernels/conv_epilogue.h"

#include <algorithm>
#include <vector>

#include "kernels/batchnorm_act.h"
#include "kernels/cpu/bn_clones.h"

namespace hemo::cpu {
namespace {

constexpr int64_t kParallelWork = int64_t(1) << 17;

// One pass over n elements of one channel: y = act((y + bias) a + sh (+ r)), r may be null. An
// absent bias is -0 and an absent batch norm a = 1, sh = -0, which leave every value (signed
// zeros and NaN included) as it was: the same bits as skipping the step.
template <BnAct A, class T>
HEMO_BN_INLINE void plane_loop(T* y, const T* r, int64_t n, T bias, T a, T sh) {
  if (r) {
    for (int64_t i = 0; i < n; ++i) y[i] = bn_act::forward(A, (y[i] + bias) * a + sh, r[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = bn_act::forward(A, (y[i] + bias) * a + sh);
  }
}

// The same over one channels-last row: channel o takes bias[o], a[o], sh[o].
template <BnAct A, class T>
HEMO_BN_INLINE void row_loop(T* y, const T* r, int64_t k, const T* bias, const T* a, const T* sh) {
  if (r) {
    for (int64_t o = 0; o < k; ++o) y[o] = bn_act::forward(A, (y[o] + bias[o]) * a[o] + sh[o], r[o]);
  } else {
    for (int64_t o = 0; o < k; ++o) y[o] = bn_act::forward(A, (y[o] + bias[o]) * a[o] + sh[o]);
  }
}

// float, the type that runs networks, gets the AVX2 clone; double (gradient checks, references)
// only the baseline, which keeps the deployed binary small.
template <BnAct A>
HEMO_BN_CLONES void plane_run(float* y, const float* r, int64_t n, float bias, float a, float sh) {
  plane_loop<A>(y, r, n, bias, a, sh);
}
template <BnAct A>
void plane_run(double* y, const double* r, int64_t n, double bias, double a, double sh) {
  plane_loop<A>(y, r, n, bias, a, sh);
}
template <BnAct A>
HEMO_BN_CLONES void row_run(float* y, const float* r, int64_t k, const float* bias, const float* a, const float* sh) {
  row_loop<A>(y, r, k, bias, a, sh);
}
template <BnAct A>
void row_run(double* y, const double* r, int64_t k, const double* bias, const double* a, const double* sh) {
  row_loop<A>(y, r, k, bias, a, sh);
}

template <BnAct A, class T>
void planes(const ConvEpilogueShape& s, const T* r0, const T* bias, const T* a, const T* sh, T* y) {
#pragma omp parallel for collapse(2) schedule(static) if (s.n * s.k * s.pq > kParallelWork)
  for (int64_t b = 0; b < s.n; ++b)
    for (int64_t o = 0; o < s.k; ++o) {
      const int64_t at = (b * s.k + o) * s.pq;
      plane_run<A>(y + at, r0 ? r0 + at : nullptr, s.pq, bias[o], a[o], sh[o]);
    }
}

template <BnAct A, class T>
void rows(const ConvEpilogueShape& s, const T* r0, const T* bias, const T* a, const T* sh, T* y) {
  const int64_t m = s.n * s.pq;
#pragma omp parallel for schedule(static) if (m * s.k > kParallelWork)
  for (int64_t row = 0; row < m; ++row) row_run<A>(y + row * s.k, r0 ? r0 + row * s.k : nullptr, s.k, bias, a, sh);
}

}  // namespace

template <class T>
void conv_epilogue_coefs(const ConvEpilogue<T>& e, int64_t k, T* a, T* s) {
  for (int64_t o = 0; o < k; ++o) epilogue_math::coefs(e, o, a[o], s[o]);
}

template <class T>
void conv_epilogue(Backend, const ConvEpilogueShape& s, const ConvEpilogue<T>& e, T* y) {
  if (e.empty()) return;
  // Per channel: the bias, a and s, with the neutral values for the steps that are absent.
  const size_t k = static_cast<size_t>(s.k);
  std::vector<T> table(3 * k, T(-0.0));
  T *bias = table.data(), *a = bias + k, *sh = a + k;
  if (e.bias) std::copy(e.bias, e.bias + s.k, bias);
  if (!e.batch_norm()) {
    std::fill(a, a + k, T(1));
  } else if (e.a) {
    std::copy(e.a, e.a + s.k, a);
    std::copy(e.s, e.s + s.k, sh);
  } else {
    conv_epilogue_coefs(e, s.k, a, sh);
  }
  bn_act::with_kind(e.act, [&](auto kind) {
    if (s.channels_last)
      rows<decltype(kind)::value>(s, e.r, bias, a, sh, y);
    else
      planes<decltype(kind)::value>(s, e.r, bias, a, sh, y);
  });
}

template void conv_epilogue_coefs<float>(const ConvEpilogue<float>&, int64_t, float*, float*);
template void conv_epilogue_coefs<double>(const ConvEpilogue<double>&, int64_t, double*, double*);
template void conv_epilogue<float>(Backend, const ConvEpilogueShape&, const ConvEpilogue<float>&, float*);
template void conv_epilogue<double>(Backend, const ConvEpilogueShape&, const ConvEpilogue<double>&, double*);

}  // namespace hemo::cpu
