// CUDA parameter updates (the contract is kernels/optim.h): the reference's per-element
// arithmetic, with the same constants computed on the host in the same precision.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/optim.h"

namespace hemo::cuda {

namespace {
template <class T>
struct SgdConsts {
  T lr, mom, damp, wd;
  bool nesterov, first_step;
};

template <class T>
__global__ void sgd_kernel(SgdConsts<T> h, int64_t n, T* __restrict__ param, const T* __restrict__ grad,
                           T* __restrict__ buf) {
  for (int64_t i : grid_stride(n)) {
    T g = grad[i] + h.wd * param[i];
    if (h.mom != T(0)) {
      buf[i] = h.first_step ? g : h.mom * buf[i] + h.damp * g;
      g = h.nesterov ? g + h.mom * buf[i] : buf[i];
    }
    param[i] -= h.lr * g;
  }
}

template <class T>
struct AdamConsts {
  T b1, b2, eps, wd, step_size, sqrt_bc2, decay;
  bool decoupled;
};

template <class T>
__global__ void adam_kernel(AdamConsts<T> h, int64_t n, T* __restrict__ param, const T* __restrict__ grad,
                            T* __restrict__ m, T* __restrict__ v) {
  for (int64_t i : grid_stride(n)) {
    T g = grad[i];
    T p = param[i];
    if (h.decoupled)
      p *= h.decay;
    else
      g += h.wd * p;
    const T mi = h.b1 * m[i] + (T(1) - h.b1) * g;
    const T vi = h.b2 * v[i] + (T(1) - h.b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - h.step_size * mi / (sqrt(vi) / h.sqrt_bc2 + h.eps);
  }
}
}  // namespace

template <class T>
void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* momentum_buf) {
  if (n == 0) return;
  const SgdConsts<T> k{static_cast<T>(h.lr),           static_cast<T>(h.momentum),
                       static_cast<T>(1 - h.dampening), static_cast<T>(h.weight_decay),
                       h.nesterov,                      h.first_step};
  HEMO_LAUNCH(sgd_kernel<T>, grid_for(n, kThreads), kThreads, 0, k, n, param, grad, momentum_buf);
}

template <class T>
void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v) {
  if (n == 0) return;
  const double t = static_cast<double>(h.step);
  const AdamConsts<T> k{static_cast<T>(h.beta1),
                        static_cast<T>(h.beta2),
                        static_cast<T>(h.eps),
                        static_cast<T>(h.weight_decay),
                        static_cast<T>(h.lr / (1 - std::pow(h.beta1, t))),
                        static_cast<T>(std::sqrt(1 - std::pow(h.beta2, t))),
                        static_cast<T>(1 - h.lr * h.weight_decay),
                        h.decoupled};
  HEMO_LAUNCH(adam_kernel<T>, grid_for(n, kThreads), kThreads, 0, k, n, param, grad, m, v);
}

template void sgd_update<float>(Backend, const SgdParams&, int64_t, float*, const float*, float*);
template void adam_update<float>(Backend, const AdamParams&, int64_t, float*, const float*, float*, float*);

}  // namespace hemo::cuda
