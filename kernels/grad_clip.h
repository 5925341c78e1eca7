// Clipping the gradients by their global L2 norm (torch.nn.utils.clip_grad_norm_), in place and
// with the norm kept where the gradients are, so that a clipped training step needs no host
// synchronization (train/step_meter.h).
//
// Inputs: param_sq [p], each parameter's sum(g * g) (nn::grad_squares; 0 for one without a
// gradient), the clip limit max_norm > 0, and the `count` gradient tensors to scale, tensor t
// being sizes[t] contiguous elements at grads[t].
//   sq   = param_sq[0] + param_sq[1] + ... + param_sq[p - 1], in that order, in T  (step_stats' sum)
//   coef = max_norm / (sqrt(double(sq)) + 1e-6)                                      (torch's formula)
//   coef < 1:  every element g of every tensor becomes T(coef) * g   (nn::scale's rounding)
//   otherwise: nothing changes
// A non-finite norm: a NaN norm gives a NaN coef (NaN < 1 is false: nothing changes); an infinite
// one gives 0, and 0 * inf turns the infinities into NaN, as torch's clip does. Either way the step
// is non-finite and the caller stops or skips it (or, deferred, finds it at the next read).
// The CUDA side reads no host memory and the host reads nothing back.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels/backend.h"

namespace hemo {

template <class T>
struct GradClipArgs {
  const T* param_sq = nullptr;  // [p]
  int64_t p = 0;
  double max_norm = 0;
  int64_t count = 0;              // gradient tensors
  const int64_t* sizes = nullptr;  // [count]
  T* const* grads = nullptr;       // [count]
};

// The factor T(coef) the gradients are multiplied by, or 1 when they are left alone (x * 1 == x,
// so both devices may multiply by it unconditionally). Written once for both devices.
template <class T>
HEMO_HOST_DEVICE inline T grad_clip_factor(const T* param_sq, int64_t p, double max_norm) {
  T sq = 0;
  for (int64_t i = 0; i < p; ++i) sq += param_sq[i];
  const double coef = max_norm / (sqrt(static_cast<double>(sq)) + 1e-6);
  return coef < 1 ? static_cast<T>(coef) : T(1);
}

namespace cpu {
template <class T> void clip_grads(Backend, const GradClipArgs<T>& a);
}  // namespace cpu

// CUDA (kernels/cuda/grad_clip.cu): device pointers (param_sq, grads[t]); the tables of sizes and
// pointers are host memory, passed as kernel arguments. Float only, on the current stream.
namespace cuda {
template <class T> void clip_grads(Backend, const GradClipArgs<T>& a);
}  // namespace cuda

}  // namespace hemo
