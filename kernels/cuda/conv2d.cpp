// CUDA dense (grouped) convolution (the contract is kernels/conv2d.h): cuDNN for the products
// (kernels/cuda/conv_cudnn.h), hemo's channel kernels for the bias and its gradient.
//
// Channels-last (Conv2dShape::channels_last): cuDNN gets NHWC descriptors for x and y and its
// NHWC filter format, [k, r, s, c / groups], so the weight is copied into that order for the call
// (and the weight gradient back out of it) by the batched transpose of kernels/layout.h; the bias
// and its gradient treat y as the [n p q, k] matrix it is.
//
// bf16 products (--precision bf16, kernels/cuda/blas.h): each call rounds its two inputs to bf16
// scratch copies (kernels/bf16_convert.h), cuDNN returns its output in bf16, and that is widened
// into the float32 tensor; the bias is added, and its gradient summed, in float32.
#include <atomic>
#include <cstdlib>
#include <string>

#include "core/cuda/device_buffer.h"
#include "core/error.h"
#include "kernels/bf16_convert.h"
#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/channel.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/cuda/epilogue_coefs.h"
#include "kernels/layout.h"

namespace hemo::cuda {

namespace {
// The element type cuDNN computes in for this call.
DType library_type() { return bf16_products() ? DType::bf16 : DType::f32; }

// A float32 operand as cuDNN takes it: the tensor itself, or a copy (rounded to bf16, and for the
// weight in channels-last also in the [k, r, s, cg] order). `ptr` is what the call reads.
struct Operand {
  DeviceBuffer copy;
  const void* ptr = nullptr;
};

Operand operand(const float* src, int64_t n, DType t) {
  Operand o;
  if (t == DType::f32) {
    o.ptr = src;
    return o;
  }
  o.copy = DeviceBuffer(static_cast<size_t>(n) * sizeof(bf16));
  to_bf16(backend, 1, n, n, src, o.copy.as<bf16>());
  o.ptr = o.copy.get();
  return o;
}

// weight [k, cg, r, s] in the filter order and type cuDNN takes.
Operand filter(const Conv2dShape& s, const float* weight, DType t) {
  const int64_t cg = s.c / s.groups, rs = s.r * s.s;
  Operand o = operand(weight, s.k * cg * rs, t);
  if (!s.channels_last) return o;
  Operand krsc;
  krsc.copy = DeviceBuffer(static_cast<size_t>(s.k * cg * rs) * dtype_size(t));
  transpose_batched(backend, dtype_size(t), s.k, cg, rs, o.ptr, krsc.copy.get());
  krsc.ptr = krsc.copy.get();
  return krsc;
}

// Where cuDNN writes an output of n elements that ends up in the float32 `dst`: dst itself, or a
// bf16 buffer that widen() brings back.
struct Output {
  DeviceBuffer copy;
  void* ptr = nullptr;
};
Output output(float* dst, int64_t n, DType t) {
  Output o;
  if (t == DType::f32) {
    o.ptr = dst;
  } else {
    o.copy = DeviceBuffer(static_cast<size_t>(n) * sizeof(bf16));
    o.ptr = o.copy.get();
  }
  return o;
}
void widen(const Output& o, int64_t n, float* dst) {
  if (o.copy.get()) from_bf16(backend, n, o.copy.as<bf16>(), dst);
}

// The bias's [n, k, hw] view of y: [n p q, k, 1] when channels-last.
void bias_view(const Conv2dShape& s, int64_t& n, int64_t& hw) {
  const int64_t pq = s.p() * s.q();
  n = s.channels_last ? s.n * pq : s.n;
  hw = s.channels_last ? 1 : pq;
}
}  // namespace

namespace {
// cuDNN's convolution of the operands into the float32 y (through a bf16 copy under bf16 products).
void library_forward(const Conv2dShape& s, DType t, const Operand& xs, const Operand& ws, float* y) {
  const int64_t ny = s.n * s.k * s.p() * s.q();
  const Output ys = output(y, ny, t);
  cudnn_conv_fwd(s, t, xs.ptr, ws.ptr, ys.ptr);
  widen(ys, ny, y);
}
}  // namespace

template <class T> void conv2d_fwd(Backend, const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  s.validate("conv2d");
  const DType t = library_type();
  library_forward(s, t, operand(x, s.n * s.c * s.h * s.w, t), filter(s, weight, t), y);
  int64_t n, hw;
  bias_view(s, n, hw);
  if (bias) channel_bias_add(n, s.k, hw, bias, y);
}

namespace {
std::atomic<bool> g_cudnn_fusion{[] {
  const char* v = std::getenv("HEMO_CUDNN_FUSION");
  return !(v && std::string(v) == "0");
}()};
}  // namespace

void set_cudnn_fusion(bool on) { g_cudnn_fusion = on; }
bool cudnn_fusion() { return g_cudnn_fusion; }

template <class T>
void conv2d_fwd_fused(Backend, const Conv2dShape& s, const T* x, const T* weight, const ConvEpilogue<T>& e_in, T* y) {
  s.validate("conv2d");
  ConvEpilogue<T> e = e_in;
  DeviceBuffer coefs;  // a, then s at a 16-byte aligned offset (cuDNN's tensors are 16-byte aligned)
  if (e.batch_norm() && !e.a) {
    const int64_t s_at = (s.k + 3) / 4 * 4;
    coefs = DeviceBuffer(static_cast<size_t>(2 * s_at) * sizeof(float));
    epilogue_coefs(s.k, e, coefs.as<float>(), coefs.as<float>() + s_at);
    e.a = coefs.as<float>(), e.s = e.a + s_at;
  }
  const DType t = library_type();
  const Operand xs = operand(x, s.n * s.c * s.h * s.w, t), ws = filter(s, weight, t);
  if (cudnn_fusion() && cudnn_conv_fwd_fused(s, t, xs.ptr, ws.ptr, e, y)) return;
  library_forward(s, t, xs, ws, y);
  conv_epilogue(backend, {.n = s.n, .k = s.k, .pq = s.p() * s.q(), .channels_last = s.channels_last}, e, y);
}

template <class T>
bool conv2d_fwd_stats(Backend, const Conv2dShape& s, const T* x, const T* weight, T* y, T* sum, T* sqsum) {
  s.validate("conv2d");
  const DType t = library_type();
  const Operand xs = operand(x, s.n * s.c * s.h * s.w, t), ws = filter(s, weight, t);
  const int64_t ny = s.n * s.k * s.p() * s.q();
  const Output ys = output(y, ny, t);
  const bool summed = cudnn_fusion() && cudnn_conv_fwd_stats(s, t, xs.ptr, ws.ptr, ys.ptr, sum, sqsum);
  if (!summed) cudnn_conv_fwd(s, t, xs.ptr, ws.ptr, ys.ptr);
  widen(ys, ny, y);
  return summed;
}

template <class T> void conv2d_bwd_data(Backend, const Conv2dShape& s, const T* gy, const T* weight, T* gx) {
  s.validate("conv2d");
  const DType t = library_type();
  const int64_t nx = s.n * s.c * s.h * s.w;
  const Operand ws = filter(s, weight, t), gys = operand(gy, s.n * s.k * s.p() * s.q(), t);
  const Output gxs = output(gx, nx, t);
  cudnn_conv_bwd_data(s, t, ws.ptr, gys.ptr, gxs.ptr);
  widen(gxs, nx, gx);
}

template <class T> void conv2d_bwd_filter(Backend, const Conv2dShape& s, const T* x, const T* gy, T* gweight, T* gbias) {
  s.validate("conv2d");
  if (gweight) {
    const DType t = library_type();
    const int64_t cg = s.c / s.groups, rs = s.r * s.s, nw = s.k * cg * rs;
    const Operand xs = operand(x, s.n * s.c * s.h * s.w, t), gys = operand(gy, s.n * s.k * s.p() * s.q(), t);
    if (!s.channels_last) {
      const Output gws = output(gweight, nw, t);
      cudnn_conv_bwd_filter(s, t, xs.ptr, gys.ptr, gws.ptr);
      widen(gws, nw, gweight);
    } else {  // [k, r, s, cg] from cuDNN, transposed back in its element type, then widened
      const DeviceBuffer krsc(static_cast<size_t>(nw) * dtype_size(t));
      cudnn_conv_bwd_filter(s, t, xs.ptr, gys.ptr, krsc.get());
      const Output gws = output(gweight, nw, t);
      transpose_batched(backend, dtype_size(t), s.k, rs, cg, krsc.get(), gws.ptr);
      widen(gws, nw, gweight);
    }
  }
  int64_t n, hw;
  bias_view(s, n, hw);
  if (gbias) channel_sum(n, s.k, hw, gy, gbias);
}

template void conv2d_fwd<float>(Backend, const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_fwd_fused<float>(Backend, const Conv2dShape&, const float*, const float*,
                                      const ConvEpilogue<float>&, float*);
template bool conv2d_fwd_stats<float>(Backend, const Conv2dShape&, const float*, const float*, float*, float*,
                                      float*);
template void conv2d_bwd_data<float>(Backend, const Conv2dShape&, const float*, const float*, float*);
template void conv2d_bwd_filter<float>(Backend, const Conv2dShape&, const float*, const float*, float*, float*);

}  // namespace hemo::cuda
