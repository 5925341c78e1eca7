// The emulation build's cuBLAS and cuDNN call sites (kernels/cuda/blas.h, conv_cudnn.h): the same
// functions, computed by the CPU reference on the emulated device memory (which is host memory).
// blas.cpp, conv_cudnn.cpp and conv_cudnn_fused.cpp are left out of this build; what replaces them is named once per
// process on standard error ("emulated: cuDNN/cuBLAS by the CPU reference", runtime.cpp).
// Their work goes onto the current stream as the libraries' would (emu::enqueue): it runs at once,
// or, while the stream is captured (cudaStreamBeginCapture), it is recorded to run at each replay
// of the graph, so it holds everything it needs by value.
#include <cuda_runtime.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "core/cuda/check.h"
#include "core/cuda/stream.h"
#include "kernels/bf16_convert.h"
#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/gemm.h"
#include "kernels/layout.h"

namespace hemo::cuda {

namespace {
// The (shape, direction) pairs seen, standing in for cuDNN's per-shape algorithm cache.
std::mutex g_mu;
std::set<std::vector<int64_t>> g_shapes;
void remember(const Conv2dShape& g, int direction, DType t) {
  std::lock_guard lock(g_mu);
  g_shapes.insert({g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w,
                   g.groups, g.channels_last, direction, static_cast<int64_t>(t)});
}

// A library call's work, queued on the current stream.
void queue(std::function<void()> work) { HEMO_CUDA_CHECK(emu::enqueue(current_stream(), std::move(work))); }
}  // namespace

cublasHandle_t cublas_handle() { return nullptr; }

void cublas_gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c) {
  emu::announce();
  queue([=] { cpu::gemm(cpu::backend, s, alpha, a, b, beta, c); });
}

namespace {
// A stored bf16 matrix of rows x cols, leading dimension ld, widened (exactly) to float.
std::vector<float> widened(int64_t rows, int64_t cols, int64_t ld, const bf16* x) {
  std::vector<float> out(static_cast<size_t>(rows > 0 ? (rows - 1) * ld + cols : 0));
  cpu::from_bf16(cpu::backend, static_cast<int64_t>(out.size()), x, out.data());
  return out;
}
std::vector<float> widened(int64_t n, const void* x) { return widened(1, n, n, static_cast<const bf16*>(x)); }
}  // namespace

// Products of bf16 values are exact in float32, so the float32 reference on the widened operands
// computes what cuBLAS's bf16 GEMM with float32 accumulation does, up to summation order.
void cublas_gemm_bf16(const GemmShape& s, float alpha, const bf16* a, const bf16* b, float beta, float* c) {
  emu::announce();
  queue([=] {
    const std::vector<float> a32 = widened(s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k, s.lda, a);
    const std::vector<float> b32 = widened(s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n, s.ldb, b);
    cpu::gemm(cpu::backend, s, alpha, a32.data(), b32.data(), beta, c);
  });
}

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

namespace {
void conv_fwd(const Conv2dShape& g, const float* x, const float* weight, float* y) {
  if (!g.channels_last) return cpu::conv2d_fwd<float>(cpu::backend, g, x, weight, nullptr, y);
  const std::vector<float> w = kcrs_from_krsc(g, weight);
  cpu::conv2d_fwd<float>(cpu::backend, g, x, w.data(), nullptr, y);
}
void conv_bwd_data(const Conv2dShape& g, const float* weight, const float* gy, float* gx) {
  if (!g.channels_last) return cpu::conv2d_bwd_data<float>(cpu::backend, g, gy, weight, gx);
  const std::vector<float> w = kcrs_from_krsc(g, weight);
  cpu::conv2d_bwd_data<float>(cpu::backend, g, gy, w.data(), gx);
}
void conv_bwd_filter(const Conv2dShape& g, const float* x, const float* gy, float* gweight) {
  if (!g.channels_last) return cpu::conv2d_bwd_filter<float>(cpu::backend, g, x, gy, gweight, nullptr);
  const int64_t cg = g.c / g.groups, rs = g.r * g.s;
  std::vector<float> gw(static_cast<size_t>(g.k * cg * rs));
  cpu::conv2d_bwd_filter<float>(cpu::backend, g, x, gy, gw.data(), nullptr);
  cpu::transpose_batched(cpu::backend, sizeof(float), g.k, cg, rs, gw.data(), gweight);
}

int64_t x_count(const Conv2dShape& g) { return g.n * g.c * g.h * g.w; }
int64_t y_count(const Conv2dShape& g) { return g.n * g.k * g.p() * g.q(); }
int64_t w_count(const Conv2dShape& g) { return g.k * (g.c / g.groups) * g.r * g.s; }

// One call of the stand-in, queued: run(a, b, out), one of the three above, on the float32
// operands; or, in cuDNN's bf16 configuration, on the widened (exact) inputs, whose products are
// exact in float32, with the float32 sums rounded to the bf16 output. `run` holds the shape by value.
template <class Run>
void stand_in(const Conv2dShape& g, int direction, DType t, int64_t na, const void* a, int64_t nb, const void* b,
              int64_t nout, void* out, Run run) {
  remember(g, direction, t);
  queue([=] {
    if (t == DType::f32)
      return run(static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(out));
    const std::vector<float> a32 = widened(na, a), b32 = widened(nb, b);
    std::vector<float> out32(static_cast<size_t>(nout));
    run(a32.data(), b32.data(), out32.data());
    cpu::to_bf16(cpu::backend, 1, nout, nout, out32.data(), static_cast<bf16*>(out));
  });
}
}  // namespace

void cudnn_conv_fwd(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y) {
  stand_in(g, 0, t, x_count(g), x, w_count(g), weight, y_count(g), y,
           [g](const float* a, const float* b, float* out) { conv_fwd(g, a, b, out); });
}
void cudnn_conv_bwd_data(const Conv2dShape& g, DType t, const void* weight, const void* gy, void* gx) {
  stand_in(g, 1, t, w_count(g), weight, y_count(g), gy, x_count(g), gx,
           [g](const float* a, const float* b, float* out) { conv_bwd_data(g, a, b, out); });
}
void cudnn_conv_bwd_filter(const Conv2dShape& g, DType t, const void* x, const void* gy, void* gweight) {
  stand_in(g, 2, t, x_count(g), x, y_count(g), gy, w_count(g), gweight,
           [g](const float* a, const float* b, float* out) { conv_bwd_filter(g, a, b, out); });
}

// The fused graph as cuDNN would run it where an engine takes it (conv_cudnn.h names when hemo
// asks): the sum in float32, never rounded to bf16, then the epilogue in float32 on it, by the CPU
// reference (reading e.a and e.s, which the caller computed on the device). Every graph is
// taken, so the emulation build runs the fused path; HEMO_CUDNN_FUSION=0 (kernels/conv_epilogue.h)
// runs the fallback for comparison.
namespace {
std::mutex g_fusion_mu;
CudnnFusionStats g_fusion_stats;
std::set<std::vector<int64_t>> g_fused_shapes;

// Whether hemo asks for a graph here (conv_cudnn.h: tensor cores allowed, ungrouped); when it does,
// the graph of this (shape, type, form) counts as planned the first time, as cuDNN's plan cache.
// form: 0 the statistics graph, else the epilogue's parts.
bool takes(const Conv2dShape& g, DType t, int64_t form) {
  if (g.groups != 1 || !(t == DType::bf16 || allow_tf32())) return false;
  emu::announce();
  std::lock_guard lock(g_fusion_mu);
  const std::vector<int64_t> key{g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
                                 g.dil_h, g.dil_w, g.channels_last, static_cast<int64_t>(t), form};
  if (g_fused_shapes.insert(key).second) ++g_fusion_stats.planned;
  return true;
}
}  // namespace

bool cudnn_conv_fwd_fused(const Conv2dShape& g, DType t, const void* x, const void* weight,
                          const ConvEpilogue<float>& e, float* y) {
  const int64_t parts = (e.bias ? 1 : 0) + (e.batch_norm() ? 2 : 0) + (e.r ? 4 : 0);
  if (!takes(g, t, 1 + parts + 8 * static_cast<int64_t>(e.act))) return false;
  queue([=] {
    if (t == DType::f32) {
      conv_fwd(g, static_cast<const float*>(x), static_cast<const float*>(weight), y);
    } else {
      const std::vector<float> x32 = widened(x_count(g), x), w32 = widened(w_count(g), weight);
      conv_fwd(g, x32.data(), w32.data(), y);
    }
    cpu::conv_epilogue(cpu::backend, {.n = g.n, .k = g.k, .pq = g.p() * g.q(), .channels_last = g.channels_last}, e,
                       y);
  });
  return true;
}

// The statistics graph as an engine that takes it would run it: the convolution as
// cudnn_conv_fwd's stand-in (y in type t), then y's per-channel sum and sum of squares, of the
// values y holds, accumulated in double and rounded once to float32 (an engine sums in float32; the
// tests' tolerances cover either).
bool cudnn_conv_fwd_stats(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y, float* sum,
                          float* sqsum) {
  if (!takes(g, t, 0)) return false;
  cudnn_conv_fwd(g, t, x, weight, y);
  queue([=] {
    const int64_t n = y_count(g), pq = g.p() * g.q();
    std::vector<float> v(static_cast<size_t>(n));
    if (t == DType::f32)
      std::copy_n(static_cast<const float*>(y), n, v.data());
    else
      cpu::from_bf16(cpu::backend, n, static_cast<const bf16*>(y), v.data());
    std::vector<double> s(static_cast<size_t>(g.k)), ss(static_cast<size_t>(g.k));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = g.channels_last ? i % g.k : i / pq % g.k;
      const double e = v[static_cast<size_t>(i)];
      s[static_cast<size_t>(k)] += e;
      ss[static_cast<size_t>(k)] += e * e;
    }
    for (int64_t k = 0; k < g.k; ++k) {
      sum[k] = static_cast<float>(s[static_cast<size_t>(k)]);
      sqsum[k] = static_cast<float>(ss[static_cast<size_t>(k)]);
    }
  });
  return true;
}

CudnnFusionStats cudnn_fusion_stats() {
  std::lock_guard lock(g_fusion_mu);
  return g_fusion_stats;
}

}  // namespace hemo::cuda
