// Channel concatenation and channel slicing of NCHW tensors (DenseNet, Inception, GoogLeNet and
// SqueezeNet join their branches along channels) as one copy: a block of `rows` rows of `len`
// contiguous elements between two buffers of different row pitch,
//   dst[r * dst_pitch + i] = src[r * src_pitch + i]        for r < rows, i < len.
// With x [N, C_k, H, W] the k-th input and y [N, C, H, W] the concatenation (C = sum of C_k,
// O_k = C_0 + ... + C_{k-1}):
//   concat, input k:   rows N, len C_k H W, src x (pitch C_k H W), dst y + O_k H W (pitch C H W);
//   its gradient:      the same with src and dst exchanged (a channel slice of gy);
//   slice [b, e) of y: rows N, len (e - b) H W, src y + b H W (pitch C H W), dst (pitch len).
// The buffers must not overlap. Exact (a copy): the devices agree bit for bit.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo::cpu {

template <class T> void copy_rows(Backend, int64_t rows, int64_t len, const T* src, int64_t src_pitch, T* dst,
                                  int64_t dst_pitch);

}  // namespace hemo::cpu

// CUDA (kernels/cuda/concat.cu): device pointers, float only, on the current stream.
namespace hemo::cuda {

template <class T> void copy_rows(Backend, int64_t rows, int64_t len, const T* src, int64_t src_pitch, T* dst,
                                  int64_t dst_pitch);

}  // namespace hemo::cuda
