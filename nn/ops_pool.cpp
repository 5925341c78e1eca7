#include "nn/ops_pool.h"

#include <memory>

#include "kernels/reduce.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
Pool2dShape pool_shape(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode) {
  HEMO_CHECK(x.dim() == 4, op, ": expected an NCHW input [N, C, H, W], got ", x.str());
  Pool2dShape s{x.size(0), x.size(1), x.size(2), x.size(3), kernel[0], kernel[1], stride[0], stride[1],
                padding[0], padding[1], ceil_mode};
  s.validate(op);
  return s;
}

Tensor output_like(const Tensor& x, int64_t p, int64_t q) {
  return Tensor::empty({x.size(0), x.size(1), p, q}, x.dtype(), x.device(), x.memory_format());
}

// Global average pooling of a channels-last x: its storage is [n, h w, c], so the output [n, c]
// (stored alike in both formats) is a mean over the middle axis (kernels/reduce.h).
Tensor global_avg_pool_nhwc(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  const double scale = 1.0 / static_cast<double>(hw);
  Tensor y = output_like(x, 1, 1);
  dispatch("adaptive_avg_pool2d", x, [&](auto backend, auto t) {
    using T = decltype(t);
    sum_axis(backend, n, hw, c, scale, x.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, "adaptive_avg_pool2d", {x}, [n, c, hw, scale, x](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(x);
    dispatch("adaptive_avg_pool2d", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      sum_axis_bwd(backend, n, hw, c, scale, gy.data_any_format<T>(), gx.data_any_format<T>());
    });
    return {gx};
  });
  return y;
}
}  // namespace

// Channels-last inputs: max pooling (both devices) and global average pooling (1x1 output) have
// kernels for them; the other cases run on a contiguous copy, and the output goes back to
// channels-last, so the layers after them keep the format.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode) {
  Pool2dShape s = pool_shape("max_pool2d", x, kernel, stride, padding, ceil_mode);
  s.channels_last = x.is_channels_last();
  Tensor y = output_like(x, s.p(), s.q());
  const bool grad = needs_grad({x});
  // The argmax indices live in a plain Storage on x's device, kept alive by the backward closure.
  std::shared_ptr<Storage> argmax;
  if (grad) argmax = std::make_shared<Storage>(static_cast<size_t>(y.numel()) * sizeof(int64_t), x.device());
  dispatch("max_pool2d", x, [&](auto backend, auto t) {
    using T = decltype(t);
    max_pool2d_fwd(backend, s, x.data_any_format<T>(), y.data_any_format<T>(),
                   argmax ? static_cast<int64_t*>(argmax->data()) : nullptr);
  });
  if (!grad) return y;
  record(y, "max_pool2d", {x}, [s, x, argmax](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(x);
    dispatch("max_pool2d", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      max_pool2d_bwd(backend, s, gy.data_any_format<T>(), static_cast<const int64_t*>(argmax->data()),
                     gx.data_any_format<T>());
    });
    return {gx};
  });
  return y;
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode, bool count_include_pad) {
  if (x.is_channels_last())
    return avg_pool2d(x.contiguous(), kernel, stride, padding, ceil_mode, count_include_pad)
        .to(MemoryFormat::channels_last);
  const Pool2dShape s = pool_shape("avg_pool2d", x, kernel, stride, padding, ceil_mode);
  Tensor y = output_like(x, s.p(), s.q());  // contiguous: x is, here
  dispatch("avg_pool2d", x, [&](auto backend, auto t) {
    using T = decltype(t);
    avg_pool2d_fwd(backend, s, count_include_pad, x.data<T>(), y.data<T>());
  });
  record(y, "avg_pool2d", {x}, [s, count_include_pad, x](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(x);
    dispatch("avg_pool2d", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      avg_pool2d_bwd(backend, s, count_include_pad, gy.data<T>(), gx.data<T>());
    });
    return {gx};
  });
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output) {
  if (x.is_channels_last() && x.dim() == 4 && output[0] == 1 && output[1] == 1 && x.numel() > 0)
    return global_avg_pool_nhwc(x);
  if (x.is_channels_last()) return adaptive_avg_pool2d(x.contiguous(), output).to(MemoryFormat::channels_last);
  HEMO_CHECK(x.dim() == 4, "adaptive_avg_pool2d: expected an NCHW input [N, C, H, W], got ", x.str());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), oh = output[0], ow = output[1];
  HEMO_CHECK(h >= 1 && w >= 1, "adaptive_avg_pool2d: empty input plane in ", x.str());
  HEMO_CHECK(oh >= 1 && ow >= 1, "adaptive_avg_pool2d: output size must be positive, got ", oh, "x", ow);
  Tensor y = output_like(x, oh, ow);
  dispatch("adaptive_avg_pool2d", x, [&](auto backend, auto t) {
    using T = decltype(t);
    adaptive_avg_pool2d_fwd(backend, {n, c, h, w, oh, ow}, x.data<T>(), y.data<T>());
  });
  record(y, "adaptive_avg_pool2d", {x}, [n, c, h, w, oh, ow, x](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(x);
    dispatch("adaptive_avg_pool2d", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      adaptive_avg_pool2d_bwd(backend, {n, c, h, w, oh, ow}, gy.data<T>(), gx.data<T>());
    });
    return {gx};
  });
  return y;
}

}  // namespace hemo::nn
