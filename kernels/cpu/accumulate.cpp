#include "kernels/accumulate.h"

namespace hemo::cpu {

template <class T>
void accumulate(Backend, int64_t n, const T* src, T* dst) {
#pragma omp parallel for simd if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

template void accumulate<float>(Backend, int64_t, const float*, float*);
template void accumulate<double>(Backend, int64_t, const double*, double*);

}  // namespace hemo::cpu
