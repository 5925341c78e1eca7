// Elementwise arithmetic over n contiguous elements; y may be the same buffer as an input.
//   add:   y = a + b            mul: y = a * b            scale: y = s * a
//   fill:  y = T(value)         (Tensor::full on a device: no host data to upload, so it can be
//                                captured into a CUDA graph)
// Row broadcast (squeeze-excitation's channel scale): a viewed as [rows, inner] with one b per row,
// e.g. a [N, C, H, W] and b [N, C] (or [N, C, 1, 1]) give rows = N C, inner = H W:
//   mul_rows:        y[r, i] = a[r, i] * b[r]
//   mul_rows_grad_b: gb[r] = sum_i gy[r, i] a[r, i]     (the gradient w.r.t. the broadcast b,
//                    summed over the positions b was broadcast to; OVERWRITES gb; sums in double)
// The gradients of add, mul and scale are themselves these ops (gx = gy, gy * other, s * gy,
// mul_rows(gy, b)), so there is no separate backward kernel.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {

template <class T> void add(Backend, int64_t n, const T* a, const T* b, T* y);
template <class T> void mul(Backend, int64_t n, const T* a, const T* b, T* y);
template <class T> void scale(Backend, int64_t n, double s, const T* a, T* y);
template <class T> void fill(Backend, int64_t n, double value, T* y);
template <class T> void mul_rows(Backend, int64_t rows, int64_t inner, const T* a, const T* b, T* y);
template <class T> void mul_rows_grad_b(Backend, int64_t rows, int64_t inner, const T* gy, const T* a, T* gb);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/elementwise.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T> void add(Backend, int64_t n, const T* a, const T* b, T* y);
template <class T> void mul(Backend, int64_t n, const T* a, const T* b, T* y);
template <class T> void scale(Backend, int64_t n, double s, const T* a, T* y);
template <class T> void fill(Backend, int64_t n, double value, T* y);
template <class T> void mul_rows(Backend, int64_t rows, int64_t inner, const T* a, const T* b, T* y);
template <class T> void mul_rows_grad_b(Backend, int64_t rows, int64_t inner, const T* gy, const T* a, T* gb);

}  // namespace hemo::cuda
