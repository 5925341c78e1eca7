// The CUDA convolution epilogue (contract in kernels/conv_epilogue.h): the batch norm's
// coefficients once per channel, then one thread per element applying bias, affine map, residual
// and activation in the order the contract states. Compiled with -fmad=false (kernels/
// CMakeLists.txt): u a + s is a multiply and an add, rounded twice, as on the CPU.
#include "core/cuda/device_buffer.h"
#include "kernels/batchnorm_act.h"
#include "kernels/conv_epilogue.h"
#include "kernels/cuda/epilogue_coefs.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {

namespace {
__global__ void coefs_kernel(int64_t k, ConvEpilogue<float> e, float* __restrict__ a, float* __restrict__ s) {
  for (int64_t o : grid_stride(k)) epilogue_math::coefs(e, o, a[o], s[o]);
}

// Element i of y is in channel (i / pq) % k (NCHW) or i % k (channels-last: pq is then 1).
__global__ void epilogue_kernel(int64_t total, int64_t k, int64_t pq, const float* __restrict__ bias,
                                const float* __restrict__ a, const float* __restrict__ s,
                                const float* __restrict__ r, BnAct act, float* __restrict__ y) {
  for (int64_t i : grid_stride(total)) {
    const int64_t o = (i / pq) % k;
    float u = y[i];
    if (bias) u += bias[o];
    if (a) u = u * a[o] + s[o];
    y[i] = r ? bn_act::forward(act, u, r[i]) : bn_act::forward(act, u);
  }
}
}  // namespace

void epilogue_coefs(int64_t k, const ConvEpilogue<float>& e, float* a, float* s) {
  if (k == 0) return;
  HEMO_LAUNCH(coefs_kernel, grid_for(k, kThreads), kThreads, 0, k, e, a, s);
}

template <class T>
void conv_epilogue(Backend, const ConvEpilogueShape& s, const ConvEpilogue<T>& e, T* y) {
  const int64_t total = s.n * s.k * s.pq;
  if (total == 0 || e.empty()) return;
  DeviceBuffer coefs;  // a and s, unless the caller gave them
  const float *a = e.a, *sh = e.s;
  if (e.batch_norm() && !a) {
    coefs = DeviceBuffer(static_cast<size_t>(2 * s.k) * sizeof(float));
    epilogue_coefs(s.k, e, coefs.as<float>(), coefs.as<float>() + s.k);
    a = coefs.as<float>(), sh = a + s.k;
  }
  if (!e.batch_norm()) a = sh = nullptr;
  HEMO_LAUNCH(epilogue_kernel, grid_for(total, kThreads), kThreads, 0, total, s.k, s.channels_last ? 1 : s.pq, e.bias,
              a, sh, e.r, e.act, y);
}

template void conv_epilogue<float>(Backend, const ConvEpilogueShape&, const ConvEpilogue<float>&, float*);

}  // namespace hemo::cuda
