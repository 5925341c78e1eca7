// CUDA dense (grouped) convolution (the contract is kernels/conv2d.h): cuDNN for the products
// (kernels/cuda/conv_cudnn.h), hemo's channel kernels for the bias and its gradient.
#include "core/error.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/channel.h"
#include "kernels/cuda/conv_cudnn.h"

namespace hemo::cuda {

template <class T> void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  s.validate("conv2d");
  HEMO_CHECK(!s.channels_last, "conv2d: the CUDA kernels take NCHW only (nn::conv2d converts)");
  cudnn_conv_fwd(s, x, weight, y);
  if (bias) channel_bias_add(s.n, s.k, s.p() * s.q(), bias, y);
}

template <class T> void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  s.validate("conv2d");
  HEMO_CHECK(!s.channels_last, "conv2d: the CUDA kernels take NCHW only (nn::conv2d converts)");
  cudnn_conv_bwd_data(s, weight, gy, gx);
}

template <class T> void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  s.validate("conv2d");
  HEMO_CHECK(!s.channels_last, "conv2d: the CUDA kernels take NCHW only (nn::conv2d converts)");
  if (gweight) cudnn_conv_bwd_filter(s, x, gy, gweight);
  if (gbias) channel_sum(s.n, s.k, s.p() * s.q(), gy, gbias);
}

template void conv2d_fwd<float>(Backend, const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_bwd_data<float>(Backend, const Conv2dShape&, const float*, const float*, float*);
template void conv2d_bwd_filter<float>(Backend, const Conv2dShape&, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
