#include "kernels/grad_clip.h"

namespace hemo::cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;  // elements below which one thread scales a tensor
}

template <class T> void clip_grads(Backend, const GradClipArgs<T>& a) {
  const T f = grad_clip_factor(a.param_sq, a.p, a.max_norm);
  if (f == T(1)) return;
  for (int64_t t = 0; t < a.count; ++t) {
    T* g = a.grads[t];
    const int64_t n = a.sizes[t];
#pragma omp parallel for if (n > kParallelWork) schedule(static)
    for (int64_t i = 0; i < n; ++i) g[i] = f * g[i];
  }
}

template void clip_grads<float>(Backend, const GradClipArgs<float>&);
template void clip_grads<double>(Backend, const GradClipArgs<double>&);

}  // namespace hemo::cpu
