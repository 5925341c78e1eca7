// The activation fused into batch norm (BnAct, kernels/batchnorm.h), written once for the CPU
// reference and the CUDA kernels. The forward uses activation_math's own relu and relu6, so a
// fused pass rounds and propagates NaN exactly as the separate activation op; the gradient mask is
// read from the activation's output (relu: y > 0; relu6: 0 < y < 6), which selects the same
// elements as the activation op's mask on its input. With a residual, the same helpers: the
// forward adds r to the rounded v, and the masked gy is also the residual's gradient.
#pragma once
#include <type_traits>

#include "core/host_device.h"
#include "kernels/activation_math.h"
#include "kernels/batchnorm.h"

namespace hemo::bn_act {

template <class T>
HEMO_HOST_DEVICE inline T forward(BnAct a, T v) {
  switch (a) {
    case BnAct::none: return v;
    case BnAct::relu: return activation_math::max_of(v, T(0));
    case BnAct::relu6: return activation_math::relu6(v);
  }
  return v;
}

// act(v + r) with the residual r (kernels/batchnorm.h): v arrives rounded to T, and v + r is one
// addition in T, as nn::add's kernel, so the result is the unfused batch norm -> add -> act.
template <class T>
HEMO_HOST_DEVICE inline T forward(BnAct a, T v, T r) {
  const T sum = v + r;
  return forward(a, sum);
}

// gy where act' = 1, 0 where act' = 0 (a select, never a multiply: a NaN gy on a flat piece gives
// 0, as the activation op's backward).
template <class T>
HEMO_HOST_DEVICE inline T grad(BnAct a, T y, T gy) {
  switch (a) {
    case BnAct::none: return gy;
    case BnAct::relu: return y > T(0) ? gy : T(0);
    case BnAct::relu6: {  // two plain selects: with && GCC left the sum loops a branch per element
      const T below = y < T(6) ? gy : T(0);
      return y > T(0) ? below : T(0);
    }
  }
  return gy;
}

// Calls f(kind), kind a std::integral_constant holding `a`, so that loops inside f see the
// activation as a constant and vectorize (kernels/activation_math.h's with_kind says why).
template <class F>
inline void with_kind(BnAct a, F&& f) {
  switch (a) {
    case BnAct::none: f(std::integral_constant<BnAct, BnAct::none>{}); return;
    case BnAct::relu: f(std::integral_constant<BnAct, BnAct::relu>{}); return;
    case BnAct::relu6: f(std::integral_constant<BnAct, BnAct::relu6>{}); return;
  }
}

}  // namespace hemo::bn_act
