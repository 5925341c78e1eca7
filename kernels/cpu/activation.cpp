#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

namespace hemo {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    case Activation::hardsigmoid: return "hardsigmoid";
    case Activation::hardswish: return "hardswish";
    case Activation::sigmoid: return "sigmoid";
  }
  return "?";
}

namespace cpu {

namespace {
template <class T> T relu6(T v) { return std::min(std::max(v, T(0)), T(6)); }

template <class T> T forward(Activation a, T v) {
  switch (a) {
    case Activation::relu: return std::max(v, T(0));
    case Activation::relu6: return relu6(v);
    case Activation::hardsigmoid: return relu6(v + T(3)) / T(6);
    case Activation::hardswish: return v * relu6(v + T(3)) / T(6);
    case Activation::sigmoid: return T(1) / (T(1) + std::exp(-v));
  }
  return v;
}

template <class T> T derivative(Activation a, T v) {
  switch (a) {
    case Activation::relu: return v > T(0) ? T(1) : T(0);
    case Activation::relu6: return (v > T(0) && v < T(6)) ? T(1) : T(0);
    case Activation::hardsigmoid: return (v > T(-3) && v < T(3)) ? T(1) / T(6) : T(0);
    case Activation::hardswish:
      if (v < T(-3)) return T(0);
      if (v > T(3)) return T(1);
      return (T(2) * v + T(3)) / T(6);
    case Activation::sigmoid: {
      T s = T(1) / (T(1) + std::exp(-v));
      return s * (T(1) - s);
    }
  }
  return T(0);
}
}  // namespace

template <class T>
void activation_fwd(Activation a, int64_t n, const T* x, T* y) {
#pragma omp parallel for if (n > 32768) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = forward(a, x[i]);
}

template <class T>
void activation_bwd(Activation a, int64_t n, const T* x, const T* gy, T* gx) {
#pragma omp parallel for if (n > 32768) schedule(static)
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * derivative(a, x[i]);
}

template void activation_fwd<float>(Activation, int64_t, const float*, float*);
template void activation_fwd<double>(Activation, int64_t, const double*, double*);
template void activation_bwd<float>(Activation, int64_t, const float*, const float*, float*);
template void activation_bwd<double>(Activation, int64_t, const double*, const double*, double*);

}  // namespace cpu
}  // namespace hemo
