// Parameter updates, in place over n contiguous elements (PyTorch's torch.optim semantics).
//
// SGD (momentum m, dampening d, weight decay wd, Nesterov):
//   g = grad + wd * p
//   buf = g on the first step, else m * buf + (1 - d) * g          (only when m != 0)
//   g = nesterov ? g + m * buf : buf                                (only when m != 0)
//   p -= lr * g
// Adam / AdamW (betas b1 b2, eps, weight decay wd, step t >= 1, counted before the call):
//   Adam:  g = grad + wd * p            AdamW: p *= 1 - lr * wd     (decoupled decay)
//   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

struct SgdParams {
  double lr, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // buf is initialised from g instead of updated
};

struct AdamParams {
  double lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled = false;  // AdamW
  int64_t step = 1;
};

// The per-tensor constants the updates compute from the hyper-parameters on the host, in T (both
// devices round them alike): what the element loops read.
template <class T>
struct SgdConsts {
  T lr, mom, damp, wd;  // damp = 1 - dampening
  bool nesterov, first_step;
};
template <class T>
struct AdamConsts {
  T b1, b2, eps, wd, step_size, sqrt_bc2, decay;  // step_size = lr / (1 - b1^t), sqrt_bc2 = sqrt(1 - b2^t),
  bool decoupled;                                 // decay = 1 - lr wd
};
template <class T>
SgdConsts<T> sgd_consts(const SgdParams& h) {
  return {static_cast<T>(h.lr), static_cast<T>(h.momentum), static_cast<T>(1 - h.dampening),
          static_cast<T>(h.weight_decay), h.nesterov, h.first_step};
}
template <class T>
AdamConsts<T> adam_consts(const AdamParams& h) {
  const double t = static_cast<double>(h.step);
  return {static_cast<T>(h.beta1),
          static_cast<T>(h.beta2),
          static_cast<T>(h.eps),
          static_cast<T>(h.weight_decay),
          static_cast<T>(h.lr / (1 - std::pow(h.beta1, t))),
          static_cast<T>(std::sqrt(1 - std::pow(h.beta2, t))),
          static_cast<T>(1 - h.lr * h.weight_decay),
          h.decoupled};
}

// Multi-tensor form: the update over `count` tensors in one call, tensor i being sizes[i] elements
// at param[i] and grad[i], with its own hyper-parameters h[i] (Adam's step may differ per tensor)
// and state buffers buf1[i] (SGD: the momentum buffer, null when h[i].momentum is 0; Adam: m) and
// buf2[i] (Adam: v). On CUDA one launch covers up to kMultiTensorChunk tensors, their pointers and
// constants passed as the kernel's argument (no copy to the device, no allocation, no host wait);
// on the CPU it is the single-tensor update, tensor by tensor. Every element gets the
// single-tensor arithmetic, so the results are those of count separate calls, bit for bit.
// `consts` (optional): tensor i's constants (SgdConsts<T> or AdamConsts<T>, from sgd_consts /
// adam_consts) read at consts[i] in the kernel's memory (device memory on CUDA) when the update
// runs, instead of made from h[i] (h may then be null). A replayed CUDA graph repeats its kernels'
// arguments, so its optimizer reads each step's learning rate and bias corrections there, written
// before the replay (train/captured_step.h).
constexpr size_t kMultiTensorChunk = 24;

template <class T>
struct MultiTensorArgs {
  size_t count = 0;
  const int64_t* sizes = nullptr;
  T* const* param = nullptr;
  const T* const* grad = nullptr;
  T* const* buf1 = nullptr;
  T* const* buf2 = nullptr;
  const void* consts = nullptr;
};

namespace cpu {
template <class T> void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* momentum_buf);
template <class T> void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v);
template <class T> void sgd_update_multi(Backend, const SgdParams* h, const MultiTensorArgs<T>& a);
template <class T> void adam_update_multi(Backend, const AdamParams* h, const MultiTensorArgs<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/optim.cu): device pointers, float only, on the current stream.
namespace cuda {
template <class T> void sgd_update(Backend, const SgdParams& h, int64_t n, T* param, const T* grad, T* momentum_buf);
template <class T> void adam_update(Backend, const AdamParams& h, int64_t n, T* param, const T* grad, T* m, T* v);
template <class T> void sgd_update_multi(Backend, const SgdParams* h, const MultiTensorArgs<T>& a);
template <class T> void adam_update_multi(Backend, const AdamParams* h, const MultiTensorArgs<T>& a);
}  // namespace cuda

}  // namespace hemo
