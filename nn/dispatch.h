// The one place where a functional op chooses its implementation from a tensor's device and
// dtype. CPU tensors run the templated reference in kernels/cpu/ as float or double; CUDA tensors
// run the op's kernels/cuda/ implementation. There is no silent fallback: a CUDA tensor reaching
// an op without a CUDA implementation is an Error that names the op.
#pragma once
#include <initializer_list>

#include "kernels/backend.h"
#include "tensor/tensor.h"

namespace hemo::nn {

// Every defined tensor in `ts` must share the first one's device and dtype.
inline void check_same_place(const char* op, std::initializer_list<Tensor> ts) {
  const Tensor* first = nullptr;
  for (const Tensor& t : ts) {
    if (!t.defined()) continue;
    if (!first) {
      first = &t;
      continue;
    }
    HEMO_CHECK(t.device() == first->device() && t.dtype() == first->dtype(), op, ": arguments live in different places (",
               first->str(), " and ", t.str(), ")");
  }
}

// Calls fn(backend, element) once: backend is cpu::backend or cuda::backend (kernels/backend.h)
// and element a value of the tensor's element type (float{} or double{} on the CPU; float{} on
// CUDA). The kernels take the backend tag first, so fn writes each call once for both devices:
//
//   dispatch("scale", a, [&](auto backend, auto t) {
//     using T = decltype(t);
//     scale(backend, a.numel(), s, a.data<T>(), y.data<T>());   // finds cpu::scale or cuda::scale
//   });
//
// In a build without CUDA, fn is never instantiated with cuda::backend, and a CUDA tensor is an
// Error. No op has a bfloat16 kernel yet: a bfloat16 tensor is an Error naming the op.
template <class Fn>
void dispatch([[maybe_unused]] const char* op, const Tensor& t, Fn&& fn) {
  HEMO_CHECK(t.dtype() != DType::bf16, op, ": no bfloat16 implementation (", t.str(),
             "); convert with .to(DType::f32)");
  if (t.device().is_cpu()) {
    if (t.dtype() == DType::f32)
      fn(cpu::backend, float{});
    else
      fn(cpu::backend, double{});
    return;
  }
#if HEMO_WITH_CUDA
  fn(cuda::backend, float{});
#else
  throw Error(cat(op, ": CUDA tensor in a build without CUDA"));
#endif
}

}  // namespace hemo::nn
