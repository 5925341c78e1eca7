#include "nn/ops_dropout.h"

#include <memory>

#include "kernels/dropout.h"
#include "kernels/layout.h"
#include "nn/dispatch.h"
#include "tensor/autograd.h"

namespace hemo::nn {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  HEMO_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  const int64_t n = x.numel();
  const Generator::State st = gen.state();
  const uint64_t* base = gen.relative_base();  // set while a CUDA graph captures (tensor/rng.h)
  HEMO_CHECK(!base || x.device().is_cuda(), "dropout: a mask drawn on the ", x.device().str(),
             " during a CUDA graph capture (its counters live on the device); this layer cannot be captured");
  const uint64_t first = gen.reserve(static_cast<uint64_t>((n + 3) / 4));
  // One byte per element, on x's device, in x's storage order; the backward closure keeps it alive.
  // The random bits follow the contiguous order, so that a channels-last run drops the same
  // elements as a contiguous one: for a channels-last x the mask is drawn contiguous and then
  // transposed (a quarter of the bytes of converting x and y).
  auto mask = std::make_shared<Storage>(static_cast<size_t>(n), x.device());
  Tensor y = Tensor::empty_like(x);
  dispatch("dropout", x, [&](auto backend, auto t) {
    using T = decltype(t);
    auto* m = static_cast<uint8_t*>(mask->data());
    if (x.is_channels_last()) {
      Storage drawn(static_cast<size_t>(n), x.device());
      dropout_mask(backend, n, p, st.seed, st.stream, first, static_cast<uint8_t*>(drawn.data()), base);
      transpose_batched(backend, 1, x.size(0), x.size(1), x.size(2) * x.size(3), drawn.data(), m);
    } else {
      dropout_mask(backend, n, p, st.seed, st.stream, first, m, base);
    }
    dropout_fwd(backend, n, p, m, x.data_any_format<T>(), y.data_any_format<T>());
  });
  record(y, "dropout", {x}, [n, p, mask, x](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = Tensor::empty_like(x);
    dispatch("dropout", gy, [&](auto backend, auto t) {
      using T = decltype(t);
      dropout_bwd(backend, n, p, static_cast<const uint8_t*>(mask->data()), gy.data_any_format<T>(),
                  gx.data_any_format<T>());
    });
    return {gx};
  });
  return y;
}

}  // namespace hemo::nn
