#include "kernels/cuda/conv_cudnn.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"

#if HEMO_WITH_CUDNN
#include <unordered_map>

#include "kernels/cuda/cudnn_handle.h"

#include "core/cuda/check.h"
#include "core/cuda/device_buffer.h"
#include "core/cuda/stream.h"
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_algo.h"
#endif

namespace hemo::cuda {

namespace {
std::string geometry_str(const Conv2dShape& g) {
  return cat("x [", g.n, ", ", g.c, ", ", g.h, ", ", g.w, "], weight [", g.k, ", ", g.groups > 0 ? g.c / g.groups : 0,
             ", ", g.r, ", ", g.s, "], stride ", g.stride_h, "x", g.stride_w, ", padding ", g.pad_h, "x", g.pad_w,
             ", dilation ", g.dil_h, "x", g.dil_w, ", groups ", g.groups);
}
}  // namespace

size_t cudnn_workspace_limit() {
  static const size_t limit = [] {
    const char* v = std::getenv("HEMO_CUDNN_WORKSPACE_MB");
    const long long mb = v ? std::atoll(v) : 0;
    return static_cast<size_t>(mb > 0 ? mb : 256) << 20;
  }();
  return limit;
}

#if !HEMO_WITH_CUDNN

namespace {
[[noreturn]] void no_cudnn(const char* what, const Conv2dShape& g) {
  throw Error(cat(what, " on CUDA tensors (", geometry_str(g), ") needs cuDNN, and this hemo was built without it "
                  "(cmake found no cuDNN 9; configure with -DCUDNN_ROOT=<folder with include/ and lib/>)"));
}
}  // namespace

bool cudnn_available() { return false; }
void cudnn_conv_fwd(const Conv2dShape& g, DType, const void*, const void*, void*) { no_cudnn("conv2d forward", g); }
void cudnn_conv_bwd_data(const Conv2dShape& g, DType, const void*, const void*, void*) {
  no_cudnn("conv2d backward (input gradient)", g);
}
void cudnn_conv_bwd_filter(const Conv2dShape& g, DType, const void*, const void*, void*) {
  no_cudnn("conv2d backward (weight gradient)", g);
}
size_t cudnn_cached_algorithms() { return 0; }

#else

void throw_cudnn_error(cudnnStatus_t status, const std::string& call, const char* file, int line) {
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  throw Error(cat("cuDNN error: ", call, " failed at ", file, ":", line, ": ", cudnnGetErrorString(status),
                  detail[0] ? cat(" (", detail, ")") : std::string()));
}

cudnnHandle_t cudnn_handle() {
  thread_local std::unordered_map<int, cudnnHandle_t> handles;  // never destroyed (see blas.h)
  int device = 0;
  HEMO_CUDA_CHECK(cudaGetDevice(&device));
  cudnnHandle_t& h = handles[device];
  if (!h) {
    const size_t runtime = cudnnGetVersion();
    HEMO_CHECK(runtime / 10000 == CUDNN_MAJOR, "cuDNN: hemo was compiled against cuDNN ", CUDNN_MAJOR, ".",
               CUDNN_MINOR, " but the library loaded at run time is version ", runtime,
               " (check LD_LIBRARY_PATH and CUDNN_ROOT)");
    HEMO_CUDNN_CHECK(cudnnCreate(&h));
  }
  HEMO_CUDNN_CHECK(cudnnSetStream(h, current_stream()));
  return h;
}

namespace {

int as_int(int64_t v, const Conv2dShape& g) {
  HEMO_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): a size exceeds 32 bits in ", geometry_str(g));
  return static_cast<int>(v);
}

// The four descriptors of one convolution, destroyed with it.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const Conv2dShape& g, DType t) {
    HEMO_CHECK(t == DType::f32 || t == DType::bf16, "conv2d (cuDNN): no ", dtype_name(t), " convolution");
    const cudnnDataType_t data = t == DType::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    HEMO_CHECK(g.groups >= 1 && g.c % g.groups == 0 && g.k % g.groups == 0 && g.p() >= 1 && g.q() >= 1,
               "conv2d (cuDNN): invalid geometry ", geometry_str(g));
    HEMO_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    HEMO_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    HEMO_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    HEMO_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    auto i = [&](int64_t v) { return as_int(v, g); };
    // The dimensions are given as (n, c, h, w) in either format; the format says the memory order.
    const cudnnTensorFormat_t f = g.channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    HEMO_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, f, data, i(g.n), i(g.c), i(g.h), i(g.w)));
    HEMO_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, f, data, i(g.n), i(g.k), i(g.p()), i(g.q())));
    HEMO_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, data, f, i(g.k), i(g.c / g.groups), i(g.r), i(g.s)));
    HEMO_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, i(g.pad_h), i(g.pad_w), i(g.stride_h), i(g.stride_w),
                                                     i(g.dil_h), i(g.dil_w), CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT));
    HEMO_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, i(g.groups)));
    int on = 0, ok = 0, op = 0, oq = 0;
    HEMO_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &on, &ok, &op, &oq));
    HEMO_CHECK(on == g.n && ok == g.k && op == g.p() && oq == g.q(), "conv2d (cuDNN): cuDNN computes output [", on,
               ", ", ok, ", ", op, ", ", oq, "] for ", geometry_str(g), ", hemo expects [", g.n, ", ", g.k, ", ",
               g.p(), ", ", g.q(), "]");
  }
  ~Descriptors() {
    if (conv) (void)cudnnDestroyConvolutionDescriptor(conv);
    if (w) (void)cudnnDestroyFilterDescriptor(w);
    if (y) (void)cudnnDestroyTensorDescriptor(y);
    if (x) (void)cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

enum class Direction { fwd, bwd_data, bwd_filter };
const char* direction_name(Direction d) {
  return d == Direction::fwd ? "forward" : d == Direction::bwd_data ? "backward-data" : "backward-filter";
}

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  size_t workspace = 0;
};

std::mutex g_cache_mu;
std::map<std::vector<int64_t>, Choice> g_cache;

std::vector<int64_t> cache_key(const Conv2dShape& g, Direction d, DType t, bool tf32) {
  int device = 0;
  HEMO_CUDA_CHECK(cudaGetDevice(&device));
  return {device, static_cast<int64_t>(d), static_cast<int64_t>(t), tf32, g.n, g.c, g.h, g.w, g.k, g.r, g.s, g.stride_h, g.stride_w,
          g.pad_h, g.pad_w, g.dil_h, g.dil_w, g.groups, g.channels_last};
}

bool tensor_op(cudnnMathType_t m) { return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION; }

// cuDNN's candidates as conv_algo.h's, in cuDNN's order.
template <class Perf>
std::vector<AlgoCandidate> candidates(const std::vector<Perf>& perf, int returned) {
  std::vector<AlgoCandidate> out;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[static_cast<size_t>(i)];
    out.push_back({static_cast<int>(p.algo), p.status == CUDNN_STATUS_SUCCESS, p.determinism == CUDNN_DETERMINISTIC,
                   tensor_op(p.mathType), p.time});
  }
  return out;
}

// The workspace a timed search may use: the limit, or less when the device cannot spare it.
DeviceBuffer search_workspace() {
  for (size_t bytes = cudnn_workspace_limit();; bytes /= 4) {
    try {
      return DeviceBuffer(bytes);
    } catch (const OutOfMemory&) {
      if (bytes < (size_t{1} << 20)) throw;
    }
  }
}

// The cached choice for (g, d), made on first use (conv_algo.h: from heuristics(perf, max,
// &returned), or timed(perf, max, &returned, workspace, bytes), which runs every candidate on the
// call's buffers); made again, without the cache, when `rejected` names algorithms that refused
// to run (the new choice replaces the cached one).
template <class Perf, class HeuristicFn, class TimedFn, class WorkspaceFn>
Choice choose(const Conv2dShape& g, Direction d, DType t, Descriptors& desc, HeuristicFn heuristics, TimedFn timed,
              WorkspaceFn workspace, const std::vector<int>& rejected) {
  const bool tf32 = allow_tf32(), tensor_cores = tf32 || t == DType::bf16;
  const std::vector<int64_t> key = cache_key(g, d, t, tf32);
  if (rejected.empty()) {
    std::lock_guard<std::mutex> lock(g_cache_mu);
    auto it = g_cache.find(key);
    if (it != g_cache.end()) return it->second;
  }
  HEMO_CUDNN_CHECK(cudnnSetConvolutionMathType(desc.conv, tensor_cores ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  constexpr int kMaxCandidates = 16;  // more than any direction's algorithm count in cuDNN 9
  std::vector<Perf> perf(kMaxCandidates);
  int returned = 0;
  if (algo_search() == AlgoSearch::timed) {
    DeviceBuffer ws = search_workspace();
    HEMO_CUDNN_CHECK(timed(perf.data(), kMaxCandidates, &returned, ws.get(), ws.bytes()));
  } else {
    HEMO_CUDNN_CHECK(heuristics(perf.data(), kMaxCandidates, &returned));
  }
  const size_t limit = cudnn_workspace_limit();
  const auto sized = [&](size_t i, size_t* bytes) {
    HEMO_CUDNN_CHECK(cudnnSetConvolutionMathType(desc.conv, tensor_cores ? perf[i].mathType : CUDNN_FMA_MATH));
    return workspace(static_cast<int>(perf[i].algo), bytes) == CUDNN_STATUS_SUCCESS;
  };
  const AlgoPick pick = pick_algorithm(candidates(perf, returned), tensor_cores, rejected, limit, sized);
  if (pick.index < 0) {
    const char* math = t == DType::bf16 ? "bf16" : tensor_cores ? "float32/TF32" : "float32 without TF32";
    throw Error(cat("conv2d (cuDNN): no ", direction_name(d), " algorithm for ", geometry_str(g), " runs in ", math,
                    " within the workspace limit of ", limit >> 20, " MiB (raise HEMO_CUDNN_WORKSPACE_MB)",
                    rejected.empty() ? std::string()
                                     : cat("; ", rejected.size(), " candidate(s) answered NOT_SUPPORTED when run")));
  }
  const Perf& p = perf[static_cast<size_t>(pick.index)];
  const Choice c{static_cast<int>(p.algo), tensor_cores ? p.mathType : CUDNN_FMA_MATH, pick.workspace};
  std::lock_guard<std::mutex> lock(g_cache_mu);
  g_cache[key] = c;
  return c;
}

// Runs one convolution: run(algo, workspace, bytes) with the choice for (g, d). An algorithm may
// still answer NOT_SUPPORTED when run (a shape its kernels do not cover on this GPU, which the
// heuristics do not try): then the next candidate runs, and the cache keeps the one that ran. Any
// other failure is an error at once.
template <class Perf, class HeuristicFn, class TimedFn, class WorkspaceFn, class RunFn>
void run_conv(const Conv2dShape& g, Direction d, DType t, Descriptors& desc, HeuristicFn heuristics, TimedFn timed,
              WorkspaceFn workspace, const char* call, RunFn run) {
  std::vector<int> rejected;
  for (;;) {
    const Choice c = choose<Perf>(g, d, t, desc, heuristics, timed, workspace, rejected);  // throws when none is left
    HEMO_CUDNN_CHECK(cudnnSetConvolutionMathType(desc.conv, c.math));
    DeviceBuffer ws(c.workspace);
    const cudnnStatus_t status = run(c.algo, ws.get(), c.workspace);
    if (status == CUDNN_STATUS_SUCCESS) return;
    if (CUDNN_STATUS_CATEGORY(status) != CUDNN_STATUS_NOT_SUPPORTED)
      throw_cudnn_error(status, cat(call, " with algorithm ", c.algo, " for ", geometry_str(g)), __FILE__, __LINE__);
    rejected.push_back(c.algo);
  }
}

const float kOne = 1.0f, kZero = 0.0f;

// Degenerate shapes (no input channels, no output channels, an empty batch) that cuDNN's
// descriptors reject: the sums are empty, so the output is zero.
void zero(void* out, int64_t count, DType t) {
  HEMO_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<size_t>(count) * dtype_size(t), current_stream()));
}
}  // namespace

bool cudnn_available() { return true; }

size_t cudnn_cached_algorithms() {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  return g_cache.size();
}

void cudnn_conv_fwd(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y) {
  if (g.n == 0 || g.k == 0) return;
  if (g.c == 0) return zero(y, g.n * g.k * g.p() * g.q(), t);
  cudnnHandle_t h = cudnn_handle();
  Descriptors d(g, t);
  run_conv<cudnnConvolutionFwdAlgoPerf_t>(
      g, Direction::fwd, t, d,
      [&](cudnnConvolutionFwdAlgoPerf_t* p, int max, int* n) {
        return cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, max, n, p);
      },
      [&](cudnnConvolutionFwdAlgoPerf_t* p, int max, int* n, void* ws, size_t bytes) {
        return cudnnFindConvolutionForwardAlgorithmEx(h, d.x, x, d.w, weight, d.conv, d.y, y, max, n, p, ws, bytes);
      },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
      },
      "cudnnConvolutionForward", [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionForward(h, &kOne, d.x, x, d.w, weight, d.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), ws, bytes, &kZero, d.y, y);
      });
}

void cudnn_conv_bwd_data(const Conv2dShape& g, DType t, const void* weight, const void* gy, void* gx) {
  if (g.n == 0 || g.c == 0) return;
  if (g.k == 0) return zero(gx, g.n * g.c * g.h * g.w, t);
  cudnnHandle_t h = cudnn_handle();
  Descriptors d(g, t);
  run_conv<cudnnConvolutionBwdDataAlgoPerf_t>(
      g, Direction::bwd_data, t, d,
      [&](cudnnConvolutionBwdDataAlgoPerf_t* p, int max, int* n) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, max, n, p);
      },
      [&](cudnnConvolutionBwdDataAlgoPerf_t* p, int max, int* n, void* ws, size_t bytes) {
        return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w, weight, d.y, gy, d.conv, d.x, gx, max, n, p, ws,
                                                           bytes);
      },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x,
                                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
      },
      "cudnnConvolutionBackwardData", [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionBackwardData(h, &kOne, d.w, weight, d.y, gy, d.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), ws, bytes, &kZero, d.x,
                                            gx);
      });
}

void cudnn_conv_bwd_filter(const Conv2dShape& g, DType t, const void* x, const void* gy, void* gweight) {
  if (g.k == 0 || g.c == 0) return;
  if (g.n == 0) return zero(gweight, g.k * (g.c / g.groups) * g.r * g.s, t);
  cudnnHandle_t h = cudnn_handle();
  Descriptors d(g, t);
  run_conv<cudnnConvolutionBwdFilterAlgoPerf_t>(
      g, Direction::bwd_filter, t, d,
      [&](cudnnConvolutionBwdFilterAlgoPerf_t* p, int max, int* n) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, max, n, p);
      },
      [&](cudnnConvolutionBwdFilterAlgoPerf_t* p, int max, int* n, void* ws, size_t bytes) {
        return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x, x, d.y, gy, d.conv, d.w, gweight, max, n, p, ws,
                                                             bytes);
      },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            h, d.x, d.y, d.conv, d.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
      },
      "cudnnConvolutionBackwardFilter", [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionBackwardFilter(h, &kOne, d.x, x, d.y, gy, d.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), ws, bytes, &kZero,
                                              d.w, gweight);
      });
}

#endif  // HEMO_WITH_CUDNN

}  // namespace hemo::cuda
