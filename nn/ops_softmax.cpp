#include "nn/ops_softmax.h"

#include "kernels/softmax.h"
#include "nn/axis.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
// softmax and log_softmax differ only in their kernels; `log` picks the pair.
Tensor softmax_impl(const char* op, bool log, const Tensor& x, int64_t dim) {
  if (x.is_channels_last()) return softmax_impl(op, log, x.contiguous(), dim).to(MemoryFormat::channels_last);
  const AxisView v = axis_view(op, x.shape(), dim);
  Tensor y = Tensor::empty_like(x);
  if (x.numel() == 0) return y;
  dispatch(op, x, [&](auto backend, auto t) {
    using T = decltype(t);
    if (log)
      log_softmax_fwd(backend, v.outer, v.n, v.inner, x.data<T>(), y.data<T>());
    else
      softmax_fwd(backend, v.outer, v.n, v.inner, x.data<T>(), y.data<T>());
  });
  // The backward needs the output, not the input; a detached handle avoids a y -> node -> y cycle.
  record(y, op, {x}, [op, log, v, out = y.detach()](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(out);
    dispatch(op, gy, [&](auto backend, auto t) {
      using T = decltype(t);
      if (log)
        log_softmax_bwd(backend, v.outer, v.n, v.inner, out.data<T>(), gy.data<T>(), gx.data<T>());
      else
        softmax_bwd(backend, v.outer, v.n, v.inner, out.data<T>(), gy.data<T>(), gx.data<T>());
    });
    return {gx};
  });
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", false, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl("log_softmax", true, x, dim); }

}  // namespace hemo::nn
