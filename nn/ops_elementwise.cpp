#include "nn/ops_elementwise.h"

#include "kernels/elementwise.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
Tensor output_like(const Tensor& a) { return Tensor::empty_like(a); }

// True when b is a per-channel factor for a: a [N, C, H, W] with b [N, C, 1, 1] or [N, C].
bool is_channel_broadcast(const Tensor& a, const Tensor& b) {
  if (a.dim() != 4 || a.shape() == b.shape()) return false;
  const Shape nc{a.size(0), a.size(1)}, nc11{a.size(0), a.size(1), 1, 1};
  return b.shape() == nc || b.shape() == nc11;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b_any) {
  HEMO_CHECK(a.shape() == b_any.shape(), "add: shapes differ: ", a.str(), " + ", b_any.str());
  check_same_place("add", {a, b_any});
  // Elementwise in storage order: b in a's memory format (a copy only where they differ).
  const Tensor b = b_any.to(a.memory_format());
  Tensor y = output_like(a);
  dispatch("add", a, [&](auto backend, auto t) {
    using T = decltype(t);
    add(backend, a.numel(), a.data_any_format<T>(), b.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, "add", {a, b}, [](const Tensor& gy) -> std::vector<Tensor> { return {gy, gy}; });
  return y;
}

Tensor mul(const Tensor& a_any, const Tensor& b_any) {
  check_same_place("mul", {a_any, b_any});
  const bool broadcast = is_channel_broadcast(a_any, b_any);
  // The per-channel broadcast reads NCHW planes, so a channels-last a runs on a contiguous copy
  // (and its product goes back to channels-last); otherwise both in a's memory format.
  if (broadcast && a_any.is_channels_last()) return mul(a_any.contiguous(), b_any).to(MemoryFormat::channels_last);
  const Tensor &a = a_any, b = broadcast ? b_any : b_any.to(a.memory_format());
  HEMO_CHECK(broadcast || a.shape() == b.shape(), "mul: ", b.str(), " is neither ", a.str(),
             "'s shape nor a per-channel [N, C, 1, 1] / [N, C] factor for it");
  // With broadcast, a is [rows = N C, inner = H W] and b holds one factor per row.
  const int64_t rows = broadcast ? b.numel() : 0, inner = broadcast ? a.size(2) * a.size(3) : 0;
  Tensor y = output_like(a);
  dispatch("mul", a, [&](auto backend, auto t) {
    using T = decltype(t);
    if (broadcast)
      mul_rows(backend, rows, inner, a.data_any_format<T>(), b.data_any_format<T>(), y.data_any_format<T>());
    else
      mul(backend, a.numel(), a.data_any_format<T>(), b.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, "mul", {a, b}, [a, b, broadcast, rows, inner](const Tensor& gy) -> std::vector<Tensor> {
    Tensor ga = a.requires_grad() ? Tensor::empty_like(a) : Tensor();
    Tensor gb = b.requires_grad() ? Tensor::empty_like(b) : Tensor();
    dispatch("mul", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      const T *g = gy.data_any_format<T>(), *ap = a.data_any_format<T>(), *bp = b.data_any_format<T>();
      if (broadcast) {
        if (ga.defined()) mul_rows(backend, rows, inner, g, bp, ga.data_any_format<T>());
        if (gb.defined()) mul_rows_grad_b(backend, rows, inner, g, ap, gb.data_any_format<T>());
      } else {
        if (ga.defined()) mul(backend, gy.numel(), g, bp, ga.data_any_format<T>());
        if (gb.defined()) mul(backend, gy.numel(), g, ap, gb.data_any_format<T>());
      }
    });
    return {ga, gb};
  });
  return y;
}

Tensor scale(const Tensor& a, double s) {
  Tensor y = output_like(a);
  dispatch("scale", a, [&](auto backend, auto t) {
    using T = decltype(t);
    scale(backend, a.numel(), s, a.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, "scale", {a}, [s](const Tensor& gy) -> std::vector<Tensor> {
    Tensor ga = Tensor::empty_like(gy);
    dispatch("scale", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      scale(backend, gy.numel(), s, gy.data_any_format<T>(), ga.data_any_format<T>());
    });
    return {ga};
  });
  return y;
}

}  // namespace hemo::nn
