// The emulation build's cuBLAS and cuDNN call sites (kernels/cuda/blas.h, conv_cudnn.h): the same
// functions, computed by the CPU reference on the emulated device memory (which is host memory).
// blas.cpp and conv_cudnn.cpp are left out of this build; what replaces them is named once per
// process on standard error ("emulated: cuDNN/cuBLAS by the CPU reference", runtime.cpp).
#include <cuda_runtime.h>

#include <mutex>
#include <set>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/gemm.h"
#include "kernels/layout.h"

namespace hemo::cuda {

namespace {
// The (shape, direction) pairs seen, standing in for cuDNN's per-shape algorithm cache.
std::mutex g_mu;
std::set<std::vector<int64_t>> g_shapes;
void remember(const Conv2dShape& g, int direction) {
  std::lock_guard lock(g_mu);
  g_shapes.insert({g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w,
                   g.groups, g.channels_last, direction});
}
}  // namespace

cublasHandle_t cublas_handle() { return nullptr; }

template <class T>
void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  emu::announce();
  cpu::gemm(cpu::backend, s, alpha, a, b, beta, c);
}
template void gemm<float>(Backend, const GemmShape&, float, const float*, const float*, float, float*);

bool cudnn_available() { return true; }
size_t cudnn_workspace_limit() { return size_t{256} << 20; }
size_t cudnn_cached_algorithms() {
  std::lock_guard lock(g_mu);
  return g_shapes.size();
}

// cuDNN's NHWC filter order [k, r, s, c / groups] (what conv2d.cpp hands over when channels-last)
// to the CPU reference's [k, c / groups, r, s], and back.
std::vector<float> kcrs_from_krsc(const Conv2dShape& g, const float* w) {
  const int64_t cg = g.c / g.groups, rs = g.r * g.s;
  std::vector<float> out(static_cast<size_t>(g.k * cg * rs));
  cpu::transpose_batched(cpu::backend, sizeof(float), g.k, rs, cg, w, out.data());
  return out;
}

void cudnn_conv_fwd(const Conv2dShape& g, const float* x, const float* weight, float* y) {
  remember(g, 0);
  if (!g.channels_last) return cpu::conv2d_fwd<float>(cpu::backend, g, x, weight, nullptr, y);
  const std::vector<float> w = kcrs_from_krsc(g, weight);
  cpu::conv2d_fwd<float>(cpu::backend, g, x, w.data(), nullptr, y);
}
void cudnn_conv_bwd_data(const Conv2dShape& g, const float* weight, const float* gy, float* gx) {
  remember(g, 1);
  if (!g.channels_last) return cpu::conv2d_bwd_data<float>(cpu::backend, g, gy, weight, gx);
  const std::vector<float> w = kcrs_from_krsc(g, weight);
  cpu::conv2d_bwd_data<float>(cpu::backend, g, gy, w.data(), gx);
}
void cudnn_conv_bwd_filter(const Conv2dShape& g, const float* x, const float* gy, float* gweight) {
  remember(g, 2);
  if (!g.channels_last) return cpu::conv2d_bwd_filter<float>(cpu::backend, g, x, gy, gweight, nullptr);
  const int64_t cg = g.c / g.groups, rs = g.r * g.s;
  std::vector<float> gw(static_cast<size_t>(g.k * cg * rs));
  cpu::conv2d_bwd_filter<float>(cpu::backend, g, x, gy, gw.data(), nullptr);
  cpu::transpose_batched(cpu::backend, sizeof(float), g.k, cg, rs, gw.data(), gweight);
}

}  // namespace hemo::cuda
