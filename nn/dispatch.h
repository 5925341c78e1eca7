// The one place where a functional op chooses its implementation from a tensor's device and
// dtype. CPU tensors run the templated reference in kernels/cpu/ as float or double; CUDA tensors
// run the op's kernels/cuda/ implementation. There is no silent fallback: a CUDA tensor reaching
// an op without a CUDA implementation is an Error that names the op.
#pragma once
#include <initializer_list>

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

// cpu_fn is called with a value of the element type (float{} or double{}); cuda_fn with no
// arguments, and only in builds with CUDA.
template <class CpuFn, class CudaFn>
void dispatch([[maybe_unused]] const char* op, const Tensor& t, CpuFn&& cpu_fn, CudaFn&& cuda_fn) {
  if (t.device().is_cpu()) {
    if (t.dtype() == DType::f32)
      cpu_fn(float{});
    else
      cpu_fn(double{});
    return;
  }
#if HEMO_WITH_CUDA
  cuda_fn();
#else
  (void)cuda_fn;
  throw Error(cat(op, ": CUDA tensor in a build without CUDA"));
#endif
}

// For ops whose CUDA implementation does not exist yet: CUDA tensors are a loud error.
template <class CpuFn>
void dispatch(const char* op, const Tensor& t, CpuFn&& cpu_fn) {
  dispatch(op, t, cpu_fn, [op] { throw Error(cat(op, ": no CUDA implementation yet")); });
}

}  // namespace hemo::nn
