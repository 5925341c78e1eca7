// The TF32 switch of kernels/cuda/blas.h, shared by the cuBLAS build (blas.cpp) and the emulation
// build (emu/libraries.cpp, where the CPU reference always computes in float32).
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
}  // namespace

void set_allow_tf32(bool on) { g_allow_tf32.store(on); }
bool allow_tf32() { return g_allow_tf32.load(); }

}  // namespace hemo::cuda
