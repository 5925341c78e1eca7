// CUDA dense (grouped) convolution (the contract is kernels/conv2d.h): cuDNN for the products
// (kernels/cuda/conv_cudnn.h), hemo's channel kernels for the bias and its gradient.
//
// Channels-last (Conv2dShape::channels_last): cuDNN gets NHWC descriptors for x and y and its
// NHWC filter format, [k, r, s, c / groups], so the weight is copied into that order for the call
// (and the weight gradient back out of it) by the batched transpose of kernels/layout.h; the bias
// and its gradient treat y as the [n p q, k] matrix it is.
#include "core/cuda/device_buffer.h"
#include "core/error.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/channel.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/layout.h"

namespace hemo::cuda {

namespace {
// weight [k, cg, r, s] -> [k, r, s, cg] (cuDNN's NHWC filter), in a scratch buffer.
DeviceBuffer krsc_copy(const Conv2dShape& s, const float* weight) {
  const int64_t cg = s.c / s.groups, rs = s.r * s.s;
  DeviceBuffer out(static_cast<size_t>(s.k * cg * rs) * sizeof(float));
  transpose_batched(backend, sizeof(float), s.k, cg, rs, weight, out.get());
  return out;
}

// The bias's [n, k, hw] view of y: [n p q, k, 1] when channels-last.
void bias_view(const Conv2dShape& s, int64_t& n, int64_t& hw) {
  const int64_t pq = s.p() * s.q();
  n = s.channels_last ? s.n * pq : s.n;
  hw = s.channels_last ? 1 : pq;
}
}  // namespace

template <class T> void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  s.validate("conv2d");
  if (s.channels_last) {
    const DeviceBuffer wt = krsc_copy(s, weight);
    cudnn_conv_fwd(s, x, wt.as<float>(), y);
  } else {
    cudnn_conv_fwd(s, x, weight, y);
  }
  int64_t n, hw;
  bias_view(s, n, hw);
  if (bias) channel_bias_add(n, s.k, hw, bias, y);
}

template <class T> void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  s.validate("conv2d");
  if (s.channels_last) {
    const DeviceBuffer wt = krsc_copy(s, weight);
    cudnn_conv_bwd_data(s, wt.as<float>(), gy, gx);
  } else {
    cudnn_conv_bwd_data(s, weight, gy, gx);
  }
}

template <class T> void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  s.validate("conv2d");
  if (gweight && s.channels_last) {
    const int64_t cg = s.c / s.groups, rs = s.r * s.s;
    const DeviceBuffer gwt(static_cast<size_t>(s.k * cg * rs) * sizeof(float));
    cudnn_conv_bwd_filter(s, x, gy, gwt.as<float>());
    transpose_batched(backend, sizeof(float), s.k, rs, cg, gwt.get(), gweight);
  } else if (gweight) {
    cudnn_conv_bwd_filter(s, x, gy, gweight);
  }
  int64_t n, hw;
  bias_view(s, n, hw);
  if (gbias) channel_sum(n, s.k, hw, gy, gbias);
}

template void conv2d_fwd<float>(Backend, const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_bwd_data<float>(Backend, const Conv2dShape&, const float*, const float*, float*);
template void conv2d_bwd_filter<float>(Backend, const Conv2dShape&, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
