#include "nn/ops_concat.h"

#include "kernels/concat.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
// The elements per channel of a [N, C, ...] tensor: the product of its trailing sizes.
int64_t per_channel(const Tensor& t) {
  int64_t inner = 1;
  for (int64_t d = 2; d < t.dim(); ++d) inner *= t.size(d);
  return inner;
}

// Copies channels [src_begin, src_begin + c) of src (C_src channels) to channels
// [dst_begin, dst_begin + c) of dst (C_dst channels); both [N, C_*, ...] with `inner` elements
// per channel.
void copy_channels(const char* op, const Tensor& src, int64_t src_begin, Tensor& dst, int64_t dst_begin, int64_t c,
                   int64_t inner) {
  dispatch(op, src, [&](auto backend, auto t) {
    using T = decltype(t);
    copy_rows(backend, src.size(0), c * inner, src.data<T>() + src_begin * inner, src.size(1) * inner,
              dst.data<T>() + dst_begin * inner, dst.size(1) * inner);
  });
}
}  // namespace

// The copies below read and write NCHW planes: channels-last inputs run on contiguous copies, and
// the result goes back to channels-last when the first input was, so the layers after it keep the
// format.
Tensor concat_channels(const std::vector<Tensor>& xs) {
  HEMO_CHECK(!xs.empty(), "concat_channels: no tensors");
  bool any_last = false;
  for (const Tensor& x : xs) any_last = any_last || (x.defined() && x.is_channels_last());
  if (any_last) {
    std::vector<Tensor> copies;
    for (const Tensor& x : xs) copies.push_back(x.contiguous());
    Tensor y = concat_channels(copies);
    return xs[0].is_channels_last() ? y.to(MemoryFormat::channels_last) : y;
  }
  const Tensor& x0 = xs[0];
  HEMO_CHECK(x0.dim() >= 2, "concat_channels: need [N, C, ...] tensors, got ", x0.str());
  Shape shape = x0.shape();
  shape[1] = 0;
  for (const Tensor& x : xs) {
    check_same_place("concat_channels", {x0, x});
    bool same = x.dim() == x0.dim() && x.size(0) == x0.size(0);
    for (int64_t d = 2; same && d < x.dim(); ++d) same = x.size(d) == x0.size(d);
    HEMO_CHECK(same, "concat_channels: ", x.str(), " does not fit ", x0.str(),
               " (all sizes but the channels' must agree)");
    shape[1] += x.size(1);
  }
  Tensor y = Tensor::empty(shape, x0.dtype(), x0.device());
  const int64_t inner = per_channel(x0);
  std::vector<int64_t> offsets;
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    offsets.push_back(offset);
    copy_channels("concat_channels", x.contiguous(), 0, y, offset, x.size(1), inner);
    offset += x.size(1);
  }
  std::vector<bool> wants;
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) {
    wants.push_back(x.requires_grad());
    shapes.push_back(x.shape());
  }
  record(y, "concat_channels", xs,
         [offsets, wants, shapes, inner](const Tensor& gy) -> std::vector<Tensor> {
           std::vector<Tensor> gx(shapes.size());
           for (size_t k = 0; k < shapes.size(); ++k) {
             if (!wants[k]) continue;
             gx[k] = Tensor::empty(shapes[k], gy.dtype(), gy.device());
             copy_channels("concat_channels", gy, offsets[k], gx[k], 0, shapes[k][1], inner);
           }
           return gx;
         });
  return y;
}

Tensor slice_channels(const Tensor& x, int64_t begin, int64_t end) {
  if (x.is_channels_last()) return slice_channels(x.contiguous(), begin, end).to(MemoryFormat::channels_last);
  HEMO_CHECK(x.dim() >= 2, "slice_channels: need a [N, C, ...] tensor, got ", x.str());
  HEMO_CHECK(0 <= begin && begin < end && end <= x.size(1), "slice_channels: channels [", begin, ", ", end,
             ") are not a non-empty range of ", x.str());
  Shape shape = x.shape();
  shape[1] = end - begin;
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  const int64_t inner = per_channel(x);
  copy_channels("slice_channels", x.contiguous(), begin, y, 0, end - begin, inner);
  record(y, "slice_channels", {x}, [xs = x.shape(), begin, end, inner](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::zeros(xs, gy.dtype(), gy.device());
    copy_channels("slice_channels", gy, 0, gx, begin, end - begin, inner);
    return {gx};
  });
  return y;
}

}  // namespace hemo::nn
