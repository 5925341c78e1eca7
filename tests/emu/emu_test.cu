// The CUDA emulator's own tests (built only with -DHEMO_CUDA=EMULATE; label cuda and emu): each
// class of fault it exists to catch is caught, and correct block reductions, scans and warp
// votes give exact results. Kernels are launched with HEMO_LAUNCH, as hemo's own are.
//
// What is caught where:
//   missing barrier (shared-memory race)  every build: the scrambled thread order makes the result
//                                          wrong; ThreadSanitizer build: a "data race" report that
//                                          names the kernel, block and thread (races within a
//                                          block; blocks are ordered one after another for TSan)
//   divergent barrier, deadlock, bad mask  every build: the launch fails with the emulator's report
//   read one past the end                  AddressSanitizer build: heap-buffer-overflow report
//   block-order dependence                 every build: the result differs from index order's
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "core/cuda/emu/grid.h"
#include "core/error.h"
#include "kernels/cuda/launch.cuh"

namespace hemo::cuda {
namespace {

// ---- kernels with deliberate faults ----------------------------------------------------------

// out[i] = in[(i + 1) % n] through shared memory, with (fixed) or without (racy) the barrier.
__global__ void rotate_kernel(bool with_barrier, const float* in, float* out) {
  __shared__ float s[256];
  s[threadIdx.x] = in[threadIdx.x];
  if (with_barrier) __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

__global__ void early_exit_barrier_kernel(float* out) {
  if (threadIdx.x >= 16) return;  // half the block leaves before the barrier
  __syncthreads();
  out[threadIdx.x] = 1.f;
}

__global__ void two_barriers_kernel(float* out) {
  if (threadIdx.x % 2)
    __syncthreads();
  else
    __syncthreads();
  out[threadIdx.x] = 1.f;
}

__global__ void shuffle_vs_barrier_kernel(float* out) {
  float v = out[threadIdx.x];
  if (threadIdx.x == 0) v = __shfl_down_sync(0xffffffffu, v, 1);
  __syncthreads();
  out[threadIdx.x] = v;
}

__global__ void shuffle_exited_lane_kernel(float* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, out[threadIdx.x], 1);
}

[[maybe_unused]] __global__ void read_past_end_kernel(int n, const float* in, float* out) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i + 1];  // off by one: reads in[n]
}

// Each block adds one to the value the previous block wrote: right only in index order.
__global__ void chain_kernel(float* out) {
  if (threadIdx.x == 0) out[blockIdx.x + 1] = out[blockIdx.x] + 1.f;
}

// ---- correct kernels --------------------------------------------------------------------------

__global__ void block_sum_kernel(int64_t n, const double* x, double* y) {
  double s = 0;
  for (int64_t i : block_stride(n)) s += x[blockIdx.x * n + i];
  s = block_sum(s);
  if (threadIdx.x == 0) y[blockIdx.x] = s;
}

// Inclusive scan of one block's values: warp scans with __shfl_up_sync, then warp totals through
// dynamic shared memory.
__global__ void block_scan_kernel(const int* x, int* y) {
  HEMO_DYNAMIC_SHARED(int, warp_totals);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int v = x[blockIdx.x * blockDim.x + threadIdx.x];
  for (int d = 1; d < 32; d *= 2) {
    const int up = __shfl_up_sync(0xffffffffu, v, d);
    if (static_cast<int>(lane) >= d) v += up;
  }
  if (lane == 31) warp_totals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    int t = lane < blockDim.x / 32 ? warp_totals[lane] : 0;
    for (int d = 1; d < 32; d *= 2) {
      const int up = __shfl_up_sync(0xffffffffu, t, d);
      if (static_cast<int>(lane) >= d) t += up;
    }
    if (lane < blockDim.x / 32) warp_totals[lane] = t;
  }
  __syncthreads();
  if (warp > 0) v += warp_totals[warp - 1];
  y[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void ballot_kernel(const int* x, unsigned* votes) {
  const unsigned b = __ballot_sync(0xffffffffu, x[threadIdx.x] > 0);
  const int all = __all_sync(0xffffffffu, x[threadIdx.x] != 0);
  if (threadIdx.x == 0) votes[0] = b, votes[1] = static_cast<unsigned>(all);
}

// ---- helpers ----------------------------------------------------------------------------------

template <class T>
struct DeviceArray {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceArray(const std::vector<T>& host) : n(host.size()) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&ptr), n * sizeof(T)) == cudaSuccess);
    REQUIRE(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  ~DeviceArray() { (void)cudaFree(ptr); }
  std::vector<T> get() const {
    std::vector<T> host(n);
    REQUIRE(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return host;
  }
};

std::vector<float> ramp(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + 0.5f * static_cast<float>(i);
  return v;
}

// The launch fails with the emulator's report, which names the fault, kernel, block and thread.
void expect_fault(const std::function<void()>& launch, const std::string& kind, const std::string& kernel) {
  std::string what;
  try {
    launch();
  } catch (const Error& e) {
    what = e.what();
  }
  INFO("error: ", what);
  CHECK(what.find(kind) != std::string::npos);
  CHECK(what.find("kernel '" + kernel) != std::string::npos);
  CHECK(what.find("block (") != std::string::npos);
  CHECK(what.find("thread (") != std::string::npos);
}

// Runs fn in a fresh process and returns its exit status and standard error (for faults a
// sanitizer reports by ending the process). The child is this test binary again, started with
// HEMO_EMU_CHILD=key and running only the test cases named *key*: there in_child runs fn and exits
// (with the sanitizer's exit code, e.g. TSan's 66 after a report). A fresh process, not a bare
// fork, because the parent's fibers would carry their sanitizer state into a forked child.
[[maybe_unused]] std::pair<int, std::string> in_child(const std::string& key, const std::function<void()>& fn) {
  if (const char* k = std::getenv("HEMO_EMU_CHILD"); k && key == k) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exception: %s\n", e.what());
      std::exit(3);
    }
    std::exit(0);
  }
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    setenv("HEMO_EMU_CHILD", key.c_str(), 1);
    const std::string filter = "--test-case=*" + key + "*";
    execl("/proc/self/exe", "test_emu", filter.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

struct SeedGuard {
  uint64_t saved = emu::seed();
  explicit SeedGuard(uint64_t s) { emu::set_seed(s); }
  ~SeedGuard() { emu::set_seed(saved); }
};

}  // namespace

// Under ThreadSanitizer the deliberately racy kernels run in a child process instead (the last test
// case), since TSan's report would fail this process.
#if !defined(__SANITIZE_THREAD__)
TEST_CASE("emulator: a missing barrier gives a wrong result; with the barrier it is exact") {
  DeviceArray<float> out(std::vector<float>(256, 0.f));
  for (int round = 0; round < 2; ++round) {  // the second round's racy reads see the first's data
    const std::vector<float> in_host = ramp(256, 1.f + 1000.f * static_cast<float>(round));
    DeviceArray<float> in(in_host);
    HEMO_LAUNCH(rotate_kernel, 1, 256, 0, false, in.ptr, out.ptr);
    const std::vector<float> racy = out.get();
    HEMO_LAUNCH(rotate_kernel, 1, 256, 0, true, in.ptr, out.ptr);
    const std::vector<float> fixed = out.get();
    size_t wrong = 0, fixed_wrong = 0;
    for (size_t i = 0; i < 256; ++i) {
      wrong += racy[i] != in_host[(i + 1) % 256];
      fixed_wrong += fixed[i] != in_host[(i + 1) % 256];
    }
    MESSAGE("round ", round, ": without the barrier ", wrong, " of 256 outputs are wrong");
    CHECK(wrong > 0);
    CHECK(fixed_wrong == 0);
  }
}

#endif

TEST_CASE("emulator: a barrier not reached by every thread is a divergent-barrier fault") {
  DeviceArray<float> out(std::vector<float>(64, 0.f));
  expect_fault([&] { HEMO_LAUNCH(early_exit_barrier_kernel, 2, 32, 0, out.ptr); }, "divergent __syncthreads",
               "early_exit_barrier_kernel");
  expect_fault([&] { HEMO_LAUNCH(two_barriers_kernel, 1, 64, 0, out.ptr); }, "divergent __syncthreads",
               "two_barriers_kernel");
}

TEST_CASE("emulator: a shuffle against a barrier, and a mask naming exited lanes, are caught") {
  DeviceArray<float> out(ramp(32, 1.f));
  expect_fault([&] { HEMO_LAUNCH(shuffle_vs_barrier_kernel, 1, 32, 0, out.ptr); }, "waits at __syncthreads",
               "shuffle_vs_barrier_kernel");
  expect_fault([&] { HEMO_LAUNCH(shuffle_exited_lane_kernel, 1, 32, 0, out.ptr); }, "which has exited",
               "shuffle_exited_lane_kernel");
  expect_fault([&] { HEMO_LAUNCH(shuffle_exited_lane_kernel, 1, 16, 0, out.ptr); }, "names lanes past the last one",
               "shuffle_exited_lane_kernel");
}

TEST_CASE("emulator: a kernel that depends on block order fails; index order is the only one it passes") {
  const int blocks = 64;
  std::vector<float> expected(blocks + 1);
  std::iota(expected.begin(), expected.end(), 0.f);
  std::vector<float> scrambled, ordered;
  {
    DeviceArray<float> out(std::vector<float>(blocks + 1, 0.f));
    HEMO_LAUNCH(chain_kernel, blocks, 32, 0, out.ptr);
    scrambled = out.get();
  }
  {
    SeedGuard in_order(0);
    DeviceArray<float> out(std::vector<float>(blocks + 1, 0.f));
    HEMO_LAUNCH(chain_kernel, blocks, 32, 0, out.ptr);
    ordered = out.get();
  }
  CHECK(ordered == expected);
  CHECK(scrambled != expected);
}

TEST_CASE("emulator: invalid launch configurations are refused as CUDA refuses them") {
  DeviceArray<float> out(std::vector<float>(32, 0.f));
  CHECK_THROWS_WITH_AS(HEMO_LAUNCH(chain_kernel, 1, 2048, 0, out.ptr), doctest::Contains("exceeds 1024 threads"),
                       Error);
  CHECK_THROWS_WITH_AS(HEMO_LAUNCH(chain_kernel, 0, 32, 0, out.ptr), doctest::Contains("empty grid"), Error);
}

TEST_CASE("emulator: block sums, a two-level scan and warp votes are exact") {
  const int64_t rows = 7, n = 1000;
  std::vector<double> x(static_cast<size_t>(rows * n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>((i * 7919) % 1000) - 499.0;
  DeviceArray<double> dx(x), dy(std::vector<double>(rows, -1.0));
  HEMO_LAUNCH(block_sum_kernel, static_cast<unsigned>(rows), kReduceThreads, 0, n, dx.ptr, dy.ptr);
  const std::vector<double> y = dy.get();
  for (int64_t r = 0; r < rows; ++r) {
    const double want = std::accumulate(x.begin() + r * n, x.begin() + (r + 1) * n, 0.0);
    CHECK(y[static_cast<size_t>(r)] == want);  // integers: exact in any order
  }

  const unsigned blocks = 3, threads = 256;
  std::vector<int> xs(blocks * threads);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int>((i * 37) % 11) - 5;
  DeviceArray<int> sx(xs), sy(std::vector<int>(xs.size(), 0));
  HEMO_LAUNCH(block_scan_kernel, blocks, threads, threads / 32 * sizeof(int), sx.ptr, sy.ptr);
  const std::vector<int> scan = sy.get();
  size_t bad = 0;
  for (unsigned b = 0; b < blocks; ++b) {
    int run = 0;
    for (unsigned t = 0; t < threads; ++t) {
      run += xs[b * threads + t];
      bad += scan[b * threads + t] != run;
    }
  }
  CHECK(bad == 0);

  std::vector<int> votes_in(32);
  for (int i = 0; i < 32; ++i) votes_in[static_cast<size_t>(i)] = (i % 3 == 0) ? 1 : -1;
  DeviceArray<int> vx(votes_in);
  DeviceArray<unsigned> votes(std::vector<unsigned>(2, 7u));
  HEMO_LAUNCH(ballot_kernel, 1, 32, 0, vx.ptr, votes.ptr);
  unsigned want = 0;
  for (int i = 0; i < 32; i += 3) want |= 1u << i;
  CHECK(votes.get()[0] == want);
  CHECK(votes.get()[1] == 1u);
}

#if defined(__SANITIZE_ADDRESS__)
TEST_CASE("emulator + AddressSanitizer: a read one element past a device block is reported") {
  const auto [status, err] = in_child("read one element past", [] {
    const int n = 100;
    DeviceArray<float> in(ramp(n, 1.f)), out(std::vector<float>(n, 0.f));
    HEMO_LAUNCH(read_past_end_kernel, 1, 128, 0, n, in.ptr, out.ptr);
  });
  INFO("child's standard error:\n", err);
  CHECK(status != 0);
  CHECK(err.find("heap-buffer-overflow") != std::string::npos);
  CHECK(err.find("read_past_end_kernel") != std::string::npos);
}
#endif

#if defined(__SANITIZE_THREAD__)
TEST_CASE("emulator + ThreadSanitizer: a missing barrier is a data race naming kernel, block and thread") {
  const auto [status, err] = in_child("a missing barrier is a data race", [] {
    const std::vector<float> host = ramp(256, 1.f);
    DeviceArray<float> in(host), out(host);
    HEMO_LAUNCH(rotate_kernel, 2, 256, 0, false, in.ptr, out.ptr);
  });
  INFO("child's standard error:\n", err);
  CHECK(status != 0);
  CHECK(err.find("ThreadSanitizer: data race") != std::string::npos);
  CHECK(err.find("kernel 'rotate_kernel' block (") != std::string::npos);
}

TEST_CASE("emulator + ThreadSanitizer: the barrier orders the same accesses, and no race is reported") {
  const auto [status, err] = in_child("the barrier orders the same accesses", [] {
    const std::vector<float> host = ramp(256, 1.f);
    DeviceArray<float> in(host), out(host);
    HEMO_LAUNCH(rotate_kernel, 2, 256, 0, true, in.ptr, out.ptr);
    const std::vector<int> xs(512, 1);
    DeviceArray<int> sx(xs), sy(xs);
    HEMO_LAUNCH(block_scan_kernel, 2, 256, 8 * sizeof(int), sx.ptr, sy.ptr);
  });
  INFO("child's standard error:\n", err);
  CHECK(status == 0);
  CHECK(err.find("ThreadSanitizer") == std::string::npos);
}
#endif

}  // namespace hemo::cuda
