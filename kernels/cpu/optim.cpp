#include "kernels/optim.h"

#include <cmath>

namespace hemo::cpu {

namespace {
template <class T>
void sgd_apply(const SgdConsts<T>& h, int64_t n, T* param, const T* grad, T* buf) {
#pragma omp parallel for if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] + h.wd * param[i];
    if (h.mom != T(0)) {
      buf[i] = h.first_step ? g : h.mom * buf[i] + h.damp * g;
      g = h.nesterov ? g + h.mom * buf[i] : buf[i];
    }
    param[i] -= h.lr * g;
  }
}

template <class T>
void adam_apply(const AdamConsts<T>& h, int64_t n, T* param, const T* grad, T* m, T* v) {
#pragma omp parallel for if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (h.decoupled)
      param[i] *= h.decay;
    else
      g += h.wd * param[i];
    m[i] = h.b1 * m[i] + (T(1) - h.b1) * g;
    v[i] = h.b2 * v[i] + (T(1) - h.b2) * g * g;
    param[i] -= h.step_size * m[i] / (std::sqrt(v[i]) / h.sqrt_bc2 + h.eps);
  }
}
}  // namespace

template <class T>
void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* buf) {
  sgd_apply(sgd_consts<T>(h), n, param, grad, buf);
}

template <class T>
void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v) {
  adam_apply(adam_consts<T>(h), n, param, grad, m, v);
}

template <class T>
void sgd_update_multi(Backend, const SgdParams* h, const MultiTensorArgs<T>& a) {
  const auto* k = static_cast<const SgdConsts<T>*>(a.consts);
  for (size_t i = 0; i < a.count; ++i)
    sgd_apply(k ? k[i] : sgd_consts<T>(h[i]), a.sizes[i], a.param[i], a.grad[i], a.buf1[i]);
}

template <class T>
void adam_update_multi(Backend, const AdamParams* h, const MultiTensorArgs<T>& a) {
  const auto* k = static_cast<const AdamConsts<T>*>(a.consts);
  for (size_t i = 0; i < a.count; ++i)
    adam_apply(k ? k[i] : adam_consts<T>(h[i]), a.sizes[i], a.param[i], a.grad[i], a.buf1[i], a.buf2[i]);
}

template void sgd_update_multi<float>(Backend, const SgdParams*, const MultiTensorArgs<float>&);
template void sgd_update_multi<double>(Backend, const SgdParams*, const MultiTensorArgs<double>&);
template void adam_update_multi<float>(Backend, const AdamParams*, const MultiTensorArgs<float>&);
template void adam_update_multi<double>(Backend, const AdamParams*, const MultiTensorArgs<double>&);
template void sgd_update<float>(Backend, const SgdParams&, int64_t, float*, const float*, float*);
template void sgd_update<double>(Backend, const SgdParams&, int64_t, double*, const double*, double*);
template void adam_update<float>(Backend, const AdamParams&, int64_t, float*, const float*, float*, float*);
template void adam_update<double>(Backend, const AdamParams&, int64_t, double*, const double*, double*, double*);

}  // namespace hemo::cpu
