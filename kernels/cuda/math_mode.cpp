// The math switches of kernels/cuda/blas.h (TF32, bf16 products), shared by the cuBLAS build
// (blas.cpp, conv_cudnn.cpp, gemm.cpp, conv2d.cpp) and the emulation build (emu/libraries.cpp).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels/cuda/blas.h"

namespace hemo::cuda {

namespace {
std::atomic<bool> g_allow_tf32{[] {
  const char* v = std::getenv("HEMO_ALLOW_TF32");
  return v && v[0] != '\0' && std::strcmp(v, "0") != 0;
}()};
std::atomic<bool> g_bf16_products{false};
}  // namespace

void set_allow_tf32(bool on) { g_allow_tf32.store(on); }
bool allow_tf32() { return g_allow_tf32.load(); }
void set_bf16_products(bool on) { g_bf16_products.store(on); }
bool bf16_products() { return g_bf16_products.load(); }

}  // namespace hemo::cuda
