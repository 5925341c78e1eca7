#include "kernels/activation.h"

#include "kernels/activation_math.h"

namespace hemo {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    case Activation::hardsigmoid: return "hardsigmoid";
    case Activation::hardswish: return "hardswish";
    case Activation::sigmoid: return "sigmoid";
    case Activation::silu: return "silu";
    case Activation::gelu: return "gelu";
  }
  return "?";
}

namespace cpu {

using activation_math::input_grad;
using activation_math::forward;
using activation_math::with_kind;

// Each loop runs with the activation fixed at compile time (with_kind), so it vectorizes.
template <class T>
void activation_fwd(Backend, Activation a, int64_t n, const T* x, T* y) {
  with_kind(a, [&](auto kind) {
#pragma omp parallel for if (n > 32768) schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = forward(kind.value, x[i]);
  });
}

template <class T>
void activation_bwd(Backend, Activation a, int64_t n, const T* x, const T* gy, T* gx) {
  with_kind(a, [&](auto kind) {
#pragma omp parallel for if (n > 32768) schedule(static)
    for (int64_t i = 0; i < n; ++i) gx[i] = input_grad(kind.value, x[i], gy[i]);
  });
}

template void activation_fwd<float>(Backend, Activation, int64_t, const float*, float*);
template void activation_fwd<double>(Backend, Activation, int64_t, const double*, double*);
template void activation_bwd<float>(Backend, Activation, int64_t, const float*, const float*, float*);
template void activation_bwd<double>(Backend, Activation, int64_t, const double*, const double*, double*);

}  // namespace cpu
}  // namespace hemo
