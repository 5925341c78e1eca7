// 2-d pooling over NCHW contiguous tensors, one (n, c) plane at a time, with PyTorch's rules.
//
// Shapes: x is [n, c, h, w], y is [n, c, p, q] with (PyTorch's pooling_output_shape, dilation 1)
//   p = floor((h + 2 pad_h - kh + (ceil_mode ? stride_h - 1 : 0)) / stride_h) + 1
//   and in ceil mode the last window must start inside the input or the left padding:
//   if ((p - 1) * stride_h >= h + pad_h) p -= 1.            (q likewise with w, kw, stride_w, pad_w)
// Output (i, j) looks at input rows [i*stride_h - pad_h, i*stride_h - pad_h + kh) and the
// matching columns; rows/columns outside the input are padding.
//
// max pool:  y = max over the window's input elements (padding counts as -inf, so it never wins);
//            argmax = the flat index (row * w + col) into the input plane of the first maximum
//            in row-major window order (ties: first wins; a NaN wins and propagates, as PyTorch).
//            backward OVERWRITES gx: gx = 0, then gx[plane][argmax] += gy for every output.
// avg pool:  y = sum over the window's input elements / divisor, where, as PyTorch,
//            window_pad = the window clipped to the padded input [-pad, h + pad) x [-pad, w + pad)
//            window_in  = the window clipped to the input [0, h) x [0, w)
//            divisor    = |window_pad| if count_include_pad else |window_in|
//            (a ceil-mode window running past the padded input is clipped in both cases).
//            backward OVERWRITES gx: gx = 0, then every input element of the window += gy / divisor.
// adaptive avg pool (input h x w to out_h x out_w): output row i averages input rows
//            [floor(i h / out_h), ceil((i + 1) h / out_h)), columns likewise; windows may overlap
//            and differ in size when h is not a multiple of out_h.
//            backward OVERWRITES gx: gx = 0, then every element of the window += gy / window area.
//
// Requires (checked by Pool2dShape::validate, hemo::Error otherwise): n, c >= 0; h, w, kernel and
// stride >= 1; 0 <= pad <= kernel / 2 (PyTorch's rule); p, q >= 1.
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

struct Pool2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
  // Max pool only: x, y, gx, gy and argmax stored channels-last ([n, h, w, c], argmax [n, p, q, c],
  // each entry still the flat index row * w + col into its channel's plane). The CPU and CUDA max
  // pools take it; the average pools take NCHW only (nn:: converts around them).
  bool channels_last = false;

  int64_t p() const;  // output height
  int64_t q() const;  // output width
  void validate(const char* op) const;  // throws hemo::Error naming `op` and the bad argument
};

// Adaptive average pooling of an [n, c, h, w] input to [n, c, out_h, out_w].
struct AdaptivePool2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0, out_h = 1, out_w = 1;
};

// PyTorch's output-size rule for one dimension (dilation 1).
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode);

namespace cpu {
// argmax may be null when no backward will follow (it is [n, c, p, q] otherwise).
template <class T> void max_pool2d_fwd(Backend, const Pool2dShape& s, const T* x, T* y, int64_t* argmax);
template <class T> void max_pool2d_bwd(Backend, const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx);

template <class T> void avg_pool2d_fwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* x, T* y);
template <class T> void avg_pool2d_bwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* gy, T* gx);

template <class T>
void adaptive_avg_pool2d_fwd(Backend, const AdaptivePool2dShape& s, const T* x, T* y);
template <class T>
void adaptive_avg_pool2d_bwd(Backend, const AdaptivePool2dShape& s, const T* gy, T* gx);
}  // namespace cpu

// CUDA (kernels/cuda/pooling.cu): device pointers (argmax too), float only, on the current stream.
namespace cuda {
// argmax may be null when no backward will follow (it is [n, c, p, q] otherwise).
template <class T> void max_pool2d_fwd(Backend, const Pool2dShape& s, const T* x, T* y, int64_t* argmax);
template <class T> void max_pool2d_bwd(Backend, const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx);

template <class T> void avg_pool2d_fwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* x, T* y);
template <class T> void avg_pool2d_bwd(Backend, const Pool2dShape& s, bool count_include_pad, const T* gy, T* gx);

template <class T>
void adaptive_avg_pool2d_fwd(Backend, const AdaptivePool2dShape& s, const T* x, T* y);
template <class T>
void adaptive_avg_pool2d_bwd(Backend, const AdaptivePool2dShape& s, const T* gy, T* gx);
}  // namespace cuda

}  // namespace hemo
