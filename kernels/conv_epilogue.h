// A convolution's epilogue: the per-channel work that follows it in a network, applied to its
// output while that is still being written (CPU) or by the same cuDNN kernel (CUDA runtime
// fusion), instead of by separate ops each reading the whole map again (nn/fusion.h: conv_bn_act).
//
// For output channel o of y (kernels/conv2d.h's [n, k, p, q], or stored [n, p, q, k] when
// channels-last) and v the convolution's sum there, rounded to T:
//   u = v + bias[o]                       (skipped when bias is null: the convolution's bias)
//   u = u a_o + s_o                       (skipped when running_var is null: eval batch norm)
//       a_o = T(gamma_o / sqrt(running_var_o + eps))            (computed in double, rounded)
//       s_o = T(beta_o - running_mean_o gamma_o / sqrt(...))    (gamma = 1, beta = 0 when null)
//   y = act(u + r)                        (r the residual, y's shape and layout; null: none)
// each line one operation in T with one rounding (no fused multiply-add), as conv2d's bias,
// batch_norm_eval_fwd's affine map (kernels/batchnorm.h) and bn_act's forward
// (kernels/batchnorm_act.h) compute it. So conv2d -> batch norm (eval) -> add -> act and this
// epilogue give the same bits, on the CPU and in the CUDA fallback kernel alike.
//
// conv2d_fwd_fused: a dense convolution (kernels/conv2d.h) followed by the epilogue.
//   CPU: the epilogue runs on each chunk of images as soon as its GEMMs have written it.
//   CUDA: one cuDNN graph (conv -> add -> mul -> add -> add -> relu) when an engine takes it
//   (kernels/cuda/conv_cudnn.h: cudnn_conv_fwd_fused; then the steps run on the float32 sum,
//   which is never rounded to T or, under bf16 products, to bf16 in between, and y is float32),
//   else cuDNN's convolution followed by the epilogue kernel.
// conv_epilogue_coefs: a_o and s_o for o < k into host arrays (CPU callers that set e.a and e.s).
// conv_epilogue: the epilogue alone, in place on y (after a depthwise convolution, and the CUDA
//   fallback); shape {n, k, pq, channels_last}.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/host_device.h"
#include "kernels/backend.h"
#include "kernels/batchnorm.h"
#include "kernels/conv2d.h"

namespace hemo {

template <class T>
struct ConvEpilogue {
  const T* bias = nullptr;  // [k]
  // Eval-mode batch norm, [k] each; applied when running_var is not null.
  const T* gamma = nullptr;
  const T* beta = nullptr;
  const T* running_mean = nullptr;
  const T* running_var = nullptr;
  double eps = 1e-5;
  // a_o and s_o below, [k] each, when a caller has already computed them (a convolution applying
  // the epilogue chunk by chunk computes them once); null: computed from the statistics.
  const T* a = nullptr;
  const T* s = nullptr;
  const T* r = nullptr;  // residual added before act
  BnAct act = BnAct::none;

  bool batch_norm() const { return running_var != nullptr; }
  // Nothing to do: conv_epilogue returns at once (a convolution without bias in training).
  bool empty() const { return !bias && !batch_norm() && !r && act == BnAct::none; }
  // The same epilogue for the part of y that starts `offset` elements in (the residual moves).
  ConvEpilogue at(int64_t offset) const {
    ConvEpilogue e = *this;
    if (e.r) e.r += offset;
    return e;
  }
};

struct ConvEpilogueShape {
  int64_t n = 0, k = 0, pq = 0;
  bool channels_last = false;
};

namespace epilogue_math {
// The batch norm's a_o and s_o above.
template <class T>
HEMO_HOST_DEVICE inline void coefs(const ConvEpilogue<T>& e, int64_t o, T& a, T& s) {
  batch_norm_eval_coefs(e.gamma, e.beta, e.running_mean, e.running_var, e.eps, o, a, s);
}
}  // namespace epilogue_math

namespace cpu {
template <class T> void conv_epilogue_coefs(const ConvEpilogue<T>& e, int64_t k, T* a, T* s);
template <class T> void conv_epilogue(Backend, const ConvEpilogueShape& s, const ConvEpilogue<T>& e, T* y);
template <class T>
void conv2d_fwd_fused(Backend, const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e, T* y);

// e with a and s computed into `storage` (2k values) when it has a batch norm without them.
template <class T>
ConvEpilogue<T> with_coefs(const ConvEpilogue<T>& e, int64_t k, std::vector<T>& storage) {
  if (!e.batch_norm() || e.a) return e;
  storage.resize(static_cast<size_t>(2 * k));
  conv_epilogue_coefs(e, k, storage.data(), storage.data() + k);
  ConvEpilogue<T> out = e;
  out.a = storage.data();
  out.s = storage.data() + k;
  return out;
}
}  // namespace cpu

// CUDA (kernels/cuda/conv_epilogue.cu, kernels/cuda/conv2d.cpp): device pointers, float only.
namespace cuda {
template <class T> void conv_epilogue(Backend, const ConvEpilogueShape& s, const ConvEpilogue<T>& e, T* y);
template <class T>
void conv2d_fwd_fused(Backend, const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e, T* y);
// A training convolution's statistics in its epilogue: y = conv2d(x, weight) as conv2d_fwd (no
// bias), and, when cuDNN's graph of the convolution and genstats runs it (kernels/cuda/conv_cudnn.h:
// cudnn_conv_fwd_stats), sum[k] and sqsum[k] = the sum and sum of squares of y's channel k (float32
// accumulation; [k] each, 16-byte aligned), for the batch norm that follows
// (kernels/batchnorm.h: BatchNormTrainFwd::sum). Returns whether the sums were written; y is
// computed either way. Under bf16 products the sums are of cuDNN's bf16 output (or of the float32
// values it rounded; the engine's choice), which y holds widened. No CPU counterpart: the CPU's
// batch norm takes two passes in double, which a one-pass float32 sum would make less exact.
template <class T>
bool conv2d_fwd_stats(Backend, const Conv2dShape& s, const T* x, const T* weight, T* y, T* sum, T* sqsum);
// Whether conv2d_fwd_fused and conv2d_fwd_stats ask cuDNN for their graphs: on by default;
// HEMO_CUDNN_FUSION=0 in the environment starts it off (the fallback alone, to compare).
void set_cudnn_fusion(bool on);
bool cudnn_fusion();
}  // namespace cuda

}  // namespace hemo
