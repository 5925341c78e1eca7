#include "kernels/layernorm.h"

#include "kernels/layernorm_math.h"

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;  // below this many elements: one thread
}  // namespace

template <class T>
void layer_norm_fwd(Backend, const LayerNormFwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t p = 0; p < n * hw; ++p) layernorm_math::forward_position(a, p);
}

template <class T>
void layer_norm_bwd(Backend, const LayerNormBwd<T>& a) {
  const int64_t n = a.shape.n, c = a.shape.c, hw = a.shape.hw;
  if (a.gx) {
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
    for (int64_t p = 0; p < n * hw; ++p) layernorm_math::input_grad_position(a, p);
  }
  if (!a.ggamma && !a.gbeta) return;
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < c; ++k) {
    double sgy = 0, sgyx = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < hw; ++s) {
        const double g = static_cast<double>(a.gy[(b * c + k) * hw + s]);
        sgy += g;
        sgyx += g * layernorm_math::xhat(a, b, k, s);
      }
    if (a.ggamma) a.ggamma[k] = static_cast<T>(sgyx);
    if (a.gbeta) a.gbeta[k] = static_cast<T>(sgy);
  }
}

template void layer_norm_fwd<float>(Backend, const LayerNormFwd<float>&);
template void layer_norm_fwd<double>(Backend, const LayerNormFwd<double>&);
template void layer_norm_bwd<float>(Backend, const LayerNormBwd<float>&);
template void layer_norm_bwd<double>(Backend, const LayerNormBwd<double>&);

}  // namespace hemo::cpu
