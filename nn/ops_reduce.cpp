#include "nn/ops_reduce.h"

#include "kernels/reduce.h"
#include "nn/axis.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
// y = scale * (sum of x over axis v.n), shaped `out_shape`; the backward spreads scale * gy back.
Tensor reduce(const char* op, const Tensor& x, const AxisView& v, double scale, const Shape& out_shape) {
  if (x.is_channels_last()) return reduce(op, x.contiguous(), v, scale, out_shape);  // axes index NCHW order
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch(op, x, [&](auto backend, auto t) {
    using T = decltype(t);
    sum_axis(backend, v.outer, v.n, v.inner, scale, x.data<T>(), y.data<T>());
  });
  record(y, op, {x}, [op, v, scale, in_shape = x.shape(), dtype = x.dtype(), device = x.device()](
                         const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty(in_shape, dtype, device);
    dispatch(op, gy, [&](auto backend, auto t) {
      using T = decltype(t);
      sum_axis_bwd(backend, v.outer, v.n, v.inner, scale, gy.data<T>(), gx.data<T>());
    });
    return {gx};
  });
  return y;
}

AxisView whole(const Tensor& x) {
  AxisView v;
  v.n = x.numel();
  return v;
}

Tensor reduce_dim(const char* op, bool mean, const Tensor& x, int64_t dim, bool keepdim) {
  const AxisView v = axis_view(op, x.shape(), dim);
  Shape out = x.shape();
  if (keepdim)
    out[static_cast<size_t>(v.dim)] = 1;
  else
    out.erase(out.begin() + v.dim);
  // mean over an empty dimension is 0/0 = NaN, as PyTorch.
  return reduce(op, x, v, mean ? 1.0 / static_cast<double>(v.n) : 1.0, out);
}
}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, whole(x), 1.0, {}); }
Tensor mean(const Tensor& x) { return reduce("mean", x, whole(x), 1.0 / static_cast<double>(x.numel()), {}); }
Tensor sum(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("sum", false, x, dim, keepdim); }
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("mean", true, x, dim, keepdim); }

}  // namespace hemo::nn
