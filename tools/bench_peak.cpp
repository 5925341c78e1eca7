#include "tools/bench_peak.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "tensor/tensor.h"
#include "tools/bench_common.h"
#if HEMO_WITH_CUDA && !defined(HEMO_CUDA_EMULATED)
#include <cuda_runtime.h>
#endif

namespace hemo::cli::bench {

namespace {

constexpr int64_t kFmaIters = 20'000'000;

// 8 independent chains hide the FMA latency (4 cycles, 2 ports). Returns a value the caller
// keeps, so the loop cannot be dropped.
[[gnu::target("avx512f")]] float fma_loop_avx512(int64_t iters) {
  __m512 a[8], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 8; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < 8; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  for (int i = 1; i < 8; ++i) a[0] = _mm512_add_ps(a[0], a[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, a[0]);
  return out[0];
}

[[gnu::target("avx2,fma")]] float fma_loop_avx2(int64_t iters) {
  __m256 a[8], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 8; ++i) a[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < 8; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  for (int i = 1; i < 8; ++i) a[0] = _mm256_add_ps(a[0], a[i]);
  float out[8];
  _mm256_storeu_ps(out, a[0]);
  return out[0];
}

void cpu_compute_peak(MachinePeak& p) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const int lanes = avx512 ? 16 : avx2 ? 8 : 0;
  if (lanes == 0) {
    p.compute_source = "none (no AVX2/FMA on this CPU)";
    return;
  }
  // One thread, best of 10 short runs, times the OpenMP threads: on a shared machine the threads
  // of a parallel run do not all get a core at once (2 threads measured 170-400 GFLOP/s where
  // one thread measured 250 every time), and the peak is what free cores would do.
  const int64_t iters = kFmaIters / lanes;
  volatile float sink = 0;
  double best = 0;
  for (int rep = 0; rep < 10; ++rep) {
    const double t0 = now();
    sink = sink + (avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters));
    best = std::max(best, 2.0 * lanes * 8 * static_cast<double>(iters) / (now() - t0));
  }
  p.flops = best * omp_get_max_threads();
  p.compute_source = format("FMA loop, %s, one thread x %d threads", avx512 ? "AVX-512" : "AVX2", omp_get_max_threads());
}

void cpu_bandwidth_peak(MachinePeak& p) {
  const int64_t n = int64_t{16} << 20;  // floats: 64 MiB a buffer
  std::vector<float> a(static_cast<size_t>(n), 1.0f), b(static_cast<size_t>(n), 0.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now();
    float* dst = b.data();
    const float* src = a.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    best = std::max(best, 8.0 * static_cast<double>(n) / (now() - t0));
  }
  p.bytes_per_s = best;
  p.bandwidth_source = format("copy loop, 2 x 64 MiB, %d threads", omp_get_max_threads());
}

void device_bandwidth_peak(MachinePeak& p, Device device) {
  const Tensor a = Tensor::ones({int64_t{16} << 20}, DType::f32, device);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now();
    const Tensor b = a.clone();
    synchronize(device);
    best = std::max(best, 2.0 * static_cast<double>(a.numel() * 4) / (now() - t0));
  }
  p.bytes_per_s = best;
  p.bandwidth_source = "device-to-device copy of 64 MiB";
}

}  // namespace

MachinePeak measure_peak(Device device) {
  MachinePeak p;
  if (device.is_cpu()) {
    cpu_bandwidth_peak(p);
    cpu_compute_peak(p);
    return p;
  }
  device_bandwidth_peak(p, device);
#if HEMO_WITH_CUDA && !defined(HEMO_CUDA_EMULATED)
  int sms = 0, khz = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device.index);
  cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, device.index);
  p.flops = double(sms) * 128 * 2 * khz * 1e3;
  p.compute_source = format("device properties: %d SMs x 128 lanes x 2 x %.0f MHz", sms, khz * 1e-3);
#else
  cpu_compute_peak(p);
  p.compute_source += " (emulated device: the CPU's)";
#endif
  return p;
}

nlohmann::json peak_json(const MachinePeak& p) {
  return {{"gb_per_s", p.bytes_per_s * 1e-9},
          {"gflop_per_s", p.flops * 1e-9},
          {"compute_source", p.compute_source},
          {"bandwidth_source", p.bandwidth_source}};
}

}  // namespace hemo::cli::bench
