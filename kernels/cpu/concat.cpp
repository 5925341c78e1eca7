#include "kernels/concat.h"

#include <algorithm>

namespace hemo::cpu {

template <class T>
void copy_rows(Backend, int64_t rows, int64_t len, const T* src, int64_t src_pitch, T* dst, int64_t dst_pitch) {
#pragma omp parallel for if (rows * len > (int64_t{1} << 16)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * src_pitch, len, dst + r * dst_pitch);
}

template void copy_rows<float>(Backend, int64_t, int64_t, const float*, int64_t, float*, int64_t);
template void copy_rows<double>(Backend, int64_t, int64_t, const double*, int64_t, double*, int64_t);

}  // namespace hemo::cpu
