// Pointwise activations over n contiguous elements. Forward writes y; backward writes (overwrites)
// gx = gy * f'(x), computed from the forward input x; where f' is 0 (the flat pieces of relu,
// relu6, hardsigmoid, hardswish) gx is 0 whatever gy is, NaN included, as PyTorch's. At kinks the
// derivative is PyTorch's choice:
//   relu(x)        = max(x, 0)                 f' = 1 if x > 0 else 0
//   relu6(x)       = min(max(x, 0), 6)         f' = 1 if 0 < x < 6 else 0
//   hardsigmoid(x) = relu6(x + 3) / 6          f' = 1/6 if -3 < x < 3 else 0
//   hardswish(x)   = x * relu6(x + 3) / 6      f' = 0 if x < -3; 1 if x > 3; (2x + 3) / 6 between,
//                                                 both ends included: -1/2 at -3 (every torch kernel),
//                                                 3/2 at 3 (torch's CUDA and scalar CPU code; its
//                                                 vectorized CPU path gives 1 there)
//   sigmoid(x)     = 1 / (1 + exp(-x))         f' = s (1 - s)
//   silu(x)        = x sigmoid(x)              f' = s (1 + x (1 - s))       (EfficientNet's swish)
//   gelu(x)        = x Phi(x), the exact erf form x (1 + erf(x / sqrt 2)) / 2
//                                              f' = Phi(x) + x phi(x)       (ConvNeXt)
// sigmoid, silu and gelu are evaluated in double on both devices (activation_math.h).
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

enum class Activation { relu, relu6, hardsigmoid, hardswish, sigmoid, silu, gelu };
const char* activation_name(Activation a);

namespace cpu {
template <class T> void activation_fwd(Backend, Activation a, int64_t n, const T* x, T* y);
template <class T> void activation_bwd(Backend, Activation a, int64_t n, const T* x, const T* gy, T* gx);
}  // namespace cpu

// The CUDA implementations (kernels/cuda/activation.cu): device pointers, float only, queued on the
// current stream (core/cuda/stream.h).
namespace cuda {
template <class T> void activation_fwd(Backend, Activation a, int64_t n, const T* x, T* y);
template <class T> void activation_bwd(Backend, Activation a, int64_t n, const T* x, const T* gy, T* gx);
}  // namespace cuda

}  // namespace hemo
