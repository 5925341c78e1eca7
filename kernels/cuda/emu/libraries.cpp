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

namespace hemo::cuda {

namespace {
// The (shape, direction) pairs seen, standing in for cuDNN's per-shape algorithm cache.
std::mutex g_mu;
std::set<std::vector<int64_t>> g_shapes;
void remember(const Conv2dShape& g, int direction) {
  std::lock_guard lock(g_mu);
  g_shapes.insert({g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w,
                   g.groups, direction});
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

void cudnn_conv_fwd(const Conv2dShape& g, const float* x, const float* weight, float* y) {
  remember(g, 0);
  cpu::conv2d_fwd<float>(cpu::backend, g, x, weight, nullptr, y);
}
void cudnn_conv_bwd_data(const Conv2dShape& g, const float* weight, const float* gy, float* gx) {
  remember(g, 1);
  cpu::conv2d_bwd_data<float>(cpu::backend, g, gy, weight, gx);
}
void cudnn_conv_bwd_filter(const Conv2dShape& g, const float* x, const float* gy, float* gweight) {
  remember(g, 2);
  cpu::conv2d_bwd_filter<float>(cpu::backend, g, x, gy, gweight, nullptr);
}

}  // namespace hemo::cuda
