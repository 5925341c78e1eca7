// The scalar formulas of kernels/activation.h, written once for the CPU reference
// (kernels/cpu/activation.cpp) and the CUDA kernel (kernels/cuda/activation.cu), so the two cannot
// drift apart. max and min are spelled as std::max / std::min define them, NaN handling included.
#pragma once
#include <cmath>
#include <type_traits>

#include "core/host_device.h"
#include "kernels/activation.h"

namespace hemo::activation_math {

template <class T> HEMO_HOST_DEVICE inline T max_of(T a, T b) { return (a < b) ? b : a; }
template <class T> HEMO_HOST_DEVICE inline T min_of(T a, T b) { return (b < a) ? b : a; }
template <class T> HEMO_HOST_DEVICE inline T relu6(T v) { return min_of(max_of(v, T(0)), T(6)); }
// Sigmoid is evaluated in double, also for float data: the CPU's expf and CUDA's differ by an ulp
// or two, and where s is near 1 the derivative s (1 - s) cancels that into a relative error of
// 1e-5 or more. In double both devices agree to the final rounding (the kernel stays memory-bound).
HEMO_HOST_DEVICE inline double sigmoid_f64(double v) {
  using std::exp;
  return 1.0 / (1.0 + exp(-v));
}
template <class T> HEMO_HOST_DEVICE inline T sigmoid(T v) { return static_cast<T>(sigmoid_f64(static_cast<double>(v))); }
// The standard normal's distribution function Phi and density phi, in double.
HEMO_HOST_DEVICE inline double normal_cdf(double v) {
  using std::erf;
  return 0.5 * (1.0 + erf(v * 0.70710678118654752440));
}
HEMO_HOST_DEVICE inline double normal_pdf(double v) {
  using std::exp;
  return 0.39894228040143267794 * exp(-0.5 * v * v);
}

template <class T>
HEMO_HOST_DEVICE inline T forward(Activation a, T v) {
  switch (a) {
    case Activation::relu: return max_of(v, T(0));
    case Activation::relu6: return relu6(v);
    case Activation::hardsigmoid: return relu6(v + T(3)) / T(6);
    case Activation::hardswish: return v * relu6(v + T(3)) / T(6);
    case Activation::sigmoid: return sigmoid(v);
    case Activation::silu: return static_cast<T>(static_cast<double>(v) * sigmoid_f64(static_cast<double>(v)));
    case Activation::gelu: return static_cast<T>(static_cast<double>(v) * normal_cdf(static_cast<double>(v)));
  }
  return v;
}

template <class T>
HEMO_HOST_DEVICE inline T derivative(Activation a, T v) {
  switch (a) {
    case Activation::relu: return v > T(0) ? T(1) : T(0);
    case Activation::relu6: return (v > T(0) && v < T(6)) ? T(1) : T(0);
    case Activation::hardsigmoid: return (v > T(-3) && v < T(3)) ? T(1) / T(6) : T(0);
    case Activation::hardswish:
      if (v < T(-3)) return T(0);
      if (v > T(3)) return T(1);
      return (T(2) * v + T(3)) / T(6);
    case Activation::sigmoid: {
      const double s = sigmoid_f64(static_cast<double>(v));
      return static_cast<T>(s * (1.0 - s));
    }
    case Activation::silu: {
      const double x = static_cast<double>(v), s = sigmoid_f64(x);
      return static_cast<T>(s * (1.0 + x * (1.0 - s)));
    }
    case Activation::gelu: {
      const double x = static_cast<double>(v);
      return static_cast<T>(normal_cdf(x) + x * normal_pdf(x));
    }
  }
  return T(0);
}

// dL/dx = gy f'(x), with the piecewise-constant activations written as selects: where f' is 0
// the gradient is 0 even for a NaN or infinite gy (PyTorch's threshold_backward and
// hardtanh_backward do the same), and the loop has no multiply to guard, so it vectorizes
// (written as gy * f'(x), GCC compiled ReLU's backward to a branch per element: 23x slower than
// its forward on random data, 29% of a MobileNetV2 training step; docs/perf.md).
template <class T>
HEMO_HOST_DEVICE inline T input_grad(Activation a, T v, T gy) {
  switch (a) {
    case Activation::relu: return v > T(0) ? gy : T(0);
    case Activation::relu6: return (v > T(0) && v < T(6)) ? gy : T(0);
    case Activation::hardsigmoid: {
      const T g = gy / T(6);  // computed unconditionally: both arms are then plain selects
      return (v > T(-3) && v < T(3)) ? g : T(0);
    }
    case Activation::hardswish: {
      const T middle = gy * ((T(2) * v + T(3)) / T(6));
      const T g = v > T(3) ? gy : middle;
      return v < T(-3) ? T(0) : g;
    }
    default: return gy * derivative(a, v);
  }
}

// Calls f(kind) with kind a std::integral_constant holding `a`: a loop written inside f sees the
// activation as a compile-time constant, so forward()'s and derivative()'s switches fold away and
// the loop vectorizes (with the switch inside, GCC vectorized none of kernels/cpu/activation.cpp's
// loops, and ReLU6 took half of MobileNetV2's batch-1 inference: docs/perf.md).
template <class F>
inline void with_kind(Activation a, F&& f) {
  using A = Activation;
  switch (a) {
    case A::relu: f(std::integral_constant<A, A::relu>{}); return;
    case A::relu6: f(std::integral_constant<A, A::relu6>{}); return;
    case A::hardsigmoid: f(std::integral_constant<A, A::hardsigmoid>{}); return;
    case A::hardswish: f(std::integral_constant<A, A::hardswish>{}); return;
    case A::sigmoid: f(std::integral_constant<A, A::sigmoid>{}); return;
    case A::silu: f(std::integral_constant<A, A::silu>{}); return;
    case A::gelu: f(std::integral_constant<A, A::gelu>{}); return;
  }
}

}  // namespace hemo::activation_math
