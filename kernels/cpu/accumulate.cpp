#include "kernels/accumulate.h"

namespace hemo::cpu {

template <class T>
void accumulate(int64_t n, const T* src, T* dst) {
#pragma omp parallel for simd if (n > 65536) schedule(static)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

template void accumulate<float>(int64_t, const float*, float*);
template void accumulate<double>(int64_t, const double*, double*);

}  // namespace hemo::cpu
