#include "kernels/optim.h"

#include <cmath>

namespace hemo::cpu {

template <class T>
void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* buf) {
  const T lr = static_cast<T>(h.lr), mom = static_cast<T>(h.momentum), damp = static_cast<T>(1 - h.dampening),
          wd = static_cast<T>(h.weight_decay);
#pragma omp parallel for if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] + wd * param[i];
    if (mom != T(0)) {
      buf[i] = h.first_step ? g : mom * buf[i] + damp * g;
      g = h.nesterov ? g + mom * buf[i] : buf[i];
    }
    param[i] -= lr * g;
  }
}

template <class T>
void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v) {
  const double t = static_cast<double>(h.step);
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2), eps = static_cast<T>(h.eps),
          wd = static_cast<T>(h.weight_decay);
  const T step_size = static_cast<T>(h.lr / (1 - std::pow(h.beta1, t)));
  const T sqrt_bc2 = static_cast<T>(std::sqrt(1 - std::pow(h.beta2, t)));
  const T decay = static_cast<T>(1 - h.lr * h.weight_decay);
#pragma omp parallel for if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (h.decoupled)
      param[i] *= decay;
    else
      g += wd * param[i];
    m[i] = b1 * m[i] + (T(1) - b1) * g;
    v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
  }
}

template <class T>
void sgd_update_multi(Backend b, const SgdParams* h, const MultiTensorArgs<T>& a) {
  for (size_t i = 0; i < a.count; ++i) sgd_update(b, h[i], a.sizes[i], a.param[i], a.grad[i], a.buf1[i]);
}

template <class T>
void adam_update_multi(Backend b, const AdamParams* h, const MultiTensorArgs<T>& a) {
  for (size_t i = 0; i < a.count; ++i) adam_update(b, h[i], a.sizes[i], a.param[i], a.grad[i], a.buf1[i], a.buf2[i]);
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
