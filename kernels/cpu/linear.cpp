// Fully connected layer on the GEMM (contract in kernels/linear.h).
#include "kernels/linear.h"

#include <algorithm>
#include <vector>

namespace hemo::cpu {

template <class T>
void linear_fwd(Backend, const LinearShape& s, const T* x, const T* weight, const T* bias, T* y) {
  if (bias) {  // y = bias in every row, then y += x W^T
    for (int64_t i = 0; i < s.rows; ++i) std::copy(bias, bias + s.out, y + i * s.out);
  }
  linear_gemm::forward(backend, s, x, weight, bias != nullptr, y);
}

template <class T>
void linear_bwd_data(Backend, const LinearShape& s, const T* gy, const T* weight, T* gx) {
  linear_gemm::backward_data(backend, s, gy, weight, gx);
}

template <class T>
void linear_bwd_weight(Backend, const LinearShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  if (gweight) linear_gemm::backward_weight(backend, s, x, gy, gweight);
  if (!gbias) return;
  std::vector<double> sum(static_cast<size_t>(s.out), 0.0);
  for (int64_t i = 0; i < s.rows; ++i)
    for (int64_t o = 0; o < s.out; ++o) sum[static_cast<size_t>(o)] += gy[i * s.out + o];
  for (int64_t o = 0; o < s.out; ++o) gbias[o] = static_cast<T>(sum[static_cast<size_t>(o)]);
}

#define HEMO_LINEAR_INSTANTIATE(T)                                                             \
  template void linear_fwd<T>(Backend, const LinearShape&, const T*, const T*, const T*, T*); \
  template void linear_bwd_data<T>(Backend, const LinearShape&, const T*, const T*, T*);      \
  template void linear_bwd_weight<T>(Backend, const LinearShape&, const T*, const T*, T*, T*);
HEMO_LINEAR_INSTANTIATE(float)
HEMO_LINEAR_INSTANTIATE(double)
#undef HEMO_LINEAR_INSTANTIATE

}  // namespace hemo::cpu
