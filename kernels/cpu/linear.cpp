// Fully connected layer on the GEMM (contract in kernels/linear.h).
#include "kernels/linear.h"

#include <algorithm>
#include <vector>

#include "kernels/gemm.h"

namespace hemo::cpu {

namespace {
// A leading dimension for the GEMM, which (as BLAS) wants at least 1 even for empty matrices.
inline int64_t ld(int64_t cols) { return std::max<int64_t>(cols, 1); }
}  // namespace

template <class T>
void linear_fwd(int64_t rows, int64_t in, int64_t out, const T* x, const T* weight, const T* bias, T* y) {
  if (bias) {  // y = bias in every row, then y += x W^T
    for (int64_t i = 0; i < rows; ++i) std::copy(bias, bias + out, y + i * out);
  }
  gemm<T>(false, true, rows, out, in, T(1), x, ld(in), weight, ld(in), bias ? T(1) : T(0), y, ld(out));
}

template <class T>
void linear_bwd_data(int64_t rows, int64_t in, int64_t out, const T* gy, const T* weight, T* gx) {
  gemm<T>(false, false, rows, in, out, T(1), gy, ld(out), weight, ld(in), T(0), gx, ld(in));
}

template <class T>
void linear_bwd_weight(int64_t rows, int64_t in, int64_t out, const T* x, const T* gy, T* gweight, T* gbias) {
  if (gweight) gemm<T>(true, false, out, in, rows, T(1), gy, ld(out), x, ld(in), T(0), gweight, ld(in));
  if (!gbias) return;
  std::vector<double> sum(static_cast<size_t>(out), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t o = 0; o < out; ++o) sum[static_cast<size_t>(o)] += gy[i * out + o];
  for (int64_t o = 0; o < out; ++o) gbias[o] = static_cast<T>(sum[static_cast<size_t>(o)]);
}

#define HEMO_LINEAR_INSTANTIATE(T)                                                                 \
  template void linear_fwd<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*);        \
  template void linear_bwd_data<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);             \
  template void linear_bwd_weight<T>(int64_t, int64_t, int64_t, const T*, const T*, T*, T*);
HEMO_LINEAR_INSTANTIATE(float)
HEMO_LINEAR_INSTANTIATE(double)
#undef HEMO_LINEAR_INSTANTIATE

}  // namespace hemo::cpu
