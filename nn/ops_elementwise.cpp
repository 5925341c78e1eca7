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

Tensor add(const Tensor& a, const Tensor& b) {
  HEMO_CHECK(a.shape() == b.shape(), "add: shapes differ: ", a.str(), " + ", b.str());
  check_same_place("add", {a, b});
  Tensor y = output_like(a);
  dispatch("add", a, [&](auto backend, auto t) {
    using T = decltype(t);
    add(backend, a.numel(), a.data<T>(), b.data<T>(), y.data<T>());
  });
  record(y, "add", {a, b}, [](const Tensor& gy) -> std::vector<Tensor> { return {gy, gy}; });
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same_place("mul", {a, b});
  const bool broadcast = is_channel_broadcast(a, b);
  HEMO_CHECK(broadcast || a.shape() == b.shape(), "mul: ", b.str(), " is neither ", a.str(),
             "'s shape nor a per-channel [N, C, 1, 1] / [N, C] factor for it");
  // With broadcast, a is [rows = N C, inner = H W] and b holds one factor per row.
  const int64_t rows = broadcast ? b.numel() : 0, inner = broadcast ? a.size(2) * a.size(3) : 0;
  Tensor y = output_like(a);
  dispatch("mul", a, [&](auto backend, auto t) {
    using T = decltype(t);
    if (broadcast)
      mul_rows(backend, rows, inner, a.data<T>(), b.data<T>(), y.data<T>());
    else
      mul(backend, a.numel(), a.data<T>(), b.data<T>(), y.data<T>());
  });
  record(y, "mul", {a, b}, [a, b, broadcast, rows, inner](const Tensor& gy) -> std::vector<Tensor> {
    Tensor ga = a.requires_grad() ? Tensor::empty_like(a) : Tensor();
    Tensor gb = b.requires_grad() ? Tensor::empty_like(b) : Tensor();
    dispatch("mul", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      if (broadcast) {
        if (ga.defined()) mul_rows(backend, rows, inner, gy.data<T>(), b.data<T>(), ga.data<T>());
        if (gb.defined()) mul_rows_grad_b(backend, rows, inner, gy.data<T>(), a.data<T>(), gb.data<T>());
      } else {
        if (ga.defined()) mul(backend, gy.numel(), gy.data<T>(), b.data<T>(), ga.data<T>());
        if (gb.defined()) mul(backend, gy.numel(), gy.data<T>(), a.data<T>(), gb.data<T>());
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
    scale(backend, a.numel(), s, a.data<T>(), y.data<T>());
  });
  record(y, "scale", {a}, [s](const Tensor& gy) -> std::vector<Tensor> {
    Tensor ga = Tensor::empty_like(gy);
    dispatch("scale", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      scale(backend, gy.numel(), s, gy.data<T>(), ga.data<T>());
    });
    return {ga};
  });
  return y;
}

}  // namespace hemo::nn
