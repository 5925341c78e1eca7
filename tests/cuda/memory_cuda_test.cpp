// The CUDA runtime layer: the caching allocator (reuse, statistics, HEMO_NO_CACHING, the
// out-of-memory error), poisoning, streams, pinned host memory and the checked-call errors.
#include <doctest/doctest.h>

#include <string>

#include "core/host_memory.h"
#include "core/pinned.h"
#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include <cuda_runtime.h>

#include "core/cuda/check.h"
#include "core/cuda/device_buffer.h"
#include "core/cuda/stream.h"
#endif

using namespace hemo;
using namespace hemo::test;

TEST_CASE("pinned_buffer refuses clearly without a GPU") {
  if (pinned_memory_available()) {
    CHECK_NOTHROW(pinned_buffer(16));
  } else {
    CHECK_THROWS_WITH_AS(pinned_buffer(16), doctest::Contains("pinned_buffer"), Error);
  }
}

#if HEMO_WITH_CUDA

TEST_CASE("caching allocator: statistics, reuse of a freed block, peaks") {
  HEMO_REQUIRE_GPU();
  cuda_empty_cache();  // so the block freed below is the only one of its size in the cache
  const CudaMemoryStats before = cuda_memory_stats(0);
  // What stays cached: free parts of segments that still hold a block in use.
  CHECK(before.reserved == before.in_use + before.cached);
  void* first = nullptr;
  {
    Tensor t = Tensor::empty({1000, 1000}, DType::f32, gpu());  // 4 MB
    first = t.raw();
    const CudaMemoryStats during = cuda_memory_stats(0);
    CHECK(during.in_use >= before.in_use + 4000000);
    CHECK(during.peak_in_use >= during.in_use);
    CHECK(during.reserved == during.in_use + during.cached);
    CHECK(during.peak_reserved >= during.reserved);
  }
  const CudaMemoryStats after = cuda_memory_stats(0);
  CHECK(after.in_use == before.in_use);
  CHECK(after.peak_in_use >= before.in_use + 4000000);
  if (cuda_caching_enabled()) {
    CHECK(after.cached >= before.cached + 4000000);  // kept, not given back
    Tensor again = Tensor::empty({1000, 1000}, DType::f32, gpu());
    CHECK(again.raw() == first);  // the same block, from the cache
    CHECK(cuda_memory_stats(0).cache_hits == after.cache_hits + 1);
    CHECK(cuda_memory_stats(0).device_mallocs == after.device_mallocs);
  } else {
    CHECK(after.cached == 0);
    CHECK(after.reserved == after.in_use);
    Tensor again = Tensor::empty({1000, 1000}, DType::f32, gpu());
    CHECK(cuda_memory_stats(0).device_mallocs == after.device_mallocs + 1);  // every block afresh
  }
  cuda_reset_peak_stats(0);
  const CudaMemoryStats reset = cuda_memory_stats(0);
  CHECK(reset.peak_in_use == reset.in_use);
  cuda_empty_cache();
  const CudaMemoryStats emptied = cuda_memory_stats(0);
  CHECK(emptied.cached <= before.cached);
  CHECK(emptied.reserved == emptied.in_use + emptied.cached);
}

TEST_CASE("caching allocator: poisoning fills new blocks with NaN; scratch buffers come from the cache") {
  HEMO_REQUIRE_GPU();
  if (cuda_debug_fill()) {
    Tensor t = Tensor::empty({3, 7, 13}, DType::f32, gpu());
    for (float v : t.to_vector<float>()) REQUIRE(v != v);
  }
  const CudaMemoryStats before = cuda_memory_stats(0);
  {
    cuda::DeviceBuffer scratch(12345);
    CHECK(cuda_memory_stats(0).in_use >= before.in_use + 12345);
  }
  CHECK(cuda_memory_stats(0).in_use == before.in_use);
}

TEST_CASE("caching allocator: blocks are reused only on the stream that freed them") {
  HEMO_REQUIRE_GPU();
  if (!cuda_caching_enabled()) return;
  cuda::Stream side;
  void* on_side = nullptr;
  {
    cuda::StreamGuard guard(side);
    CHECK(cuda::current_stream() == side.get());
    Tensor t = Tensor::empty({777, 333}, DType::f32, gpu());
    on_side = t.raw();
  }
  CHECK(cuda::current_stream() == nullptr);
  Tensor here = Tensor::empty({777, 333}, DType::f32, gpu());
  CHECK(here.raw() != on_side);  // the side stream's cached block is not handed to stream 0
  {
    cuda::StreamGuard guard(side);
    Tensor back = Tensor::empty({777, 333}, DType::f32, gpu());
    CHECK(back.raw() == on_side);
    // Work queued on the side stream, read back on it, gives the right values.
    Tensor src = rand_f32({777, 333}, 5);
    copy_bytes(back.raw(), gpu(), src.raw(), Device::cpu(), src.nbytes());
    check_equal(back, src, "copy through a side stream");
  }
}

// A captured CUDA graph replays into the blocks its capture took from its stream's cache
// (core/cuda/graph.h), so a held stream's cached blocks survive cuda_empty_cache until released.
TEST_CASE("caching allocator: a held stream's cached blocks stay through cuda_empty_cache") {
  HEMO_REQUIRE_GPU();
  if (!cuda_caching_enabled()) return;
  cuda::Stream side;
  void* block = nullptr;
  {
    cuda::StreamGuard guard(side);
    block = Tensor::empty({555, 111}, DType::f32, gpu()).raw();  // freed at once: cached on `side`
  }
  cuda_hold_stream_cache(side.get());
  cuda_empty_cache();
  CHECK(cuda_memory_stats(0).cached > 0);
  {
    cuda::StreamGuard guard(side);
    CHECK(Tensor::empty({555, 111}, DType::f32, gpu()).raw() == block);  // still there
  }
  const size_t reserved_held = cuda_memory_stats(0).reserved;
  cuda_release_stream_cache(side.get());
  cuda_empty_cache();
  CHECK(cuda_memory_stats(0).reserved + 555 * 111 * 4 <= reserved_held);  // its segment is freed now
}

// Splitting and merging (core/cuda_memory.h), on a stream of the test's own, so that the blocks
// seen are the test's.
TEST_CASE("caching allocator: a larger cached block is split, its parts merge again, and whole segments are freed") {
  HEMO_REQUIRE_GPU();
  if (!cuda_caching_enabled()) return;
  cuda::Stream side;
  cuda::StreamGuard guard(side);
  constexpr int64_t kMiB = 1 << 18;  // floats
  char* base = static_cast<char*>(Tensor::empty({8 * kMiB}, DType::f32, gpu()).raw());  // 8 MiB, freed: cached
  const CudaMemoryStats cached = cuda_memory_stats(0);
  {
    Tensor one = Tensor::empty({kMiB}, DType::f32, gpu());
    Tensor two = Tensor::empty({2 * kMiB}, DType::f32, gpu());
    CHECK(static_cast<char*>(one.raw()) == base);  // the first MiB of the cached block
    CHECK(static_cast<char*>(two.raw()) == base + (size_t{1} << 20));  // the next two, from the rest
    const CudaMemoryStats split = cuda_memory_stats(0);
    CHECK(split.splits == cached.splits + 2);
    CHECK(split.device_mallocs == cached.device_mallocs);
    CHECK(split.reserved == cached.reserved);
    CHECK(split.in_use == cached.in_use + (size_t{3} << 20));
    cuda_empty_cache();  // the segment is partly in use: kept
    CHECK(cuda_memory_stats(0).reserved == cached.reserved);
    Tensor src = rand_f32({2 * kMiB}, 9);
    copy_bytes(two.raw(), gpu(), src.raw(), Device::cpu(), src.nbytes());
    check_equal(two, src, "a split block holds its data");
  }
  // Both parts freed: merged with the rest into the whole 8 MiB again.
  CHECK(static_cast<char*>(Tensor::empty({8 * kMiB}, DType::f32, gpu()).raw()) == base);
  CHECK(cuda_memory_stats(0).device_mallocs == cached.device_mallocs);
  cuda_empty_cache();
  CHECK(cuda_memory_stats(0).reserved + (size_t{8} << 20) <= cached.reserved);  // the whole segment freed
}

TEST_CASE("caching allocator: out of memory names the size and the peak, after one retry") {
  HEMO_REQUIRE_GPU();
  if (under_sanitizer()) {
    MESSAGE("part skipped under compute-sanitizer: it makes cudaMalloc fail on purpose");
    return;
  }
  const uint64_t retries = cuda_memory_stats(0).oom_retries;
  const size_t huge = size_t{1} << 50;  // 1 PiB
  Tensor held = Tensor::zeros({1 << 18}, DType::f32, gpu());  // 1 MiB in use at least
  const size_t in_use = cuda_memory_stats(0).in_use;
  try {
    Storage s(huge, gpu());
    FAIL("a 1 PiB allocation succeeded");
  } catch (const OutOfMemory& e) {
    const std::string m = e.what();
    CHECK_MESSAGE(m.find("out of memory") != std::string::npos, m);
    CHECK_MESSAGE(m.find(std::to_string(huge)) != std::string::npos, m);                     // asked
    CHECK_MESSAGE(m.find("hold " + format_bytes(in_use) + " in use") != std::string::npos, m);  // allocator stats
    CHECK_MESSAGE(m.find("peak") != std::string::npos, m);
    CHECK_MESSAGE(m.find("--batch-size") != std::string::npos, m);
  }
  CHECK(cuda_memory_stats(0).in_use == in_use);
  CHECK(cuda_memory_stats(0).oom_retries == retries + 1);
  // The failure left nothing behind: the next allocation works.
  Tensor t = Tensor::ones({5}, DType::f32, gpu());
  CHECK(t.to_vector<float>() == std::vector<float>(5, 1.0f));
}

TEST_CASE("checked CUDA calls name the call, the file and the line") {
  HEMO_REQUIRE_GPU();
  if (under_sanitizer()) {
    MESSAGE("part skipped under compute-sanitizer: it makes a CUDA call fail on purpose");
    return;
  }
  try {
    HEMO_CUDA_CHECK(cudaSetDevice(99999));
    FAIL("cudaSetDevice(99999) succeeded");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("cudaSetDevice(99999)") != std::string::npos);
    CHECK(m.find("memory_cuda_test.cpp") != std::string::npos);
    CHECK(m.find("cudaErrorInvalidDevice") != std::string::npos);
  }
  // The error was not sticky: the device still works.
  Tensor t = Tensor::full({3}, 2.5, DType::f32, gpu());
  CHECK(t.to_vector<float>() == std::vector<float>(3, 2.5f));
}

TEST_CASE("pinned host memory: cached, copies to and from the device") {
  HEMO_REQUIRE_GPU();
  const size_t n = 12347;
  void* first = nullptr;
  {
    std::shared_ptr<void> buf = pinned_buffer(n * sizeof(float));
    first = buf.get();
    cudaPointerAttributes attr{};
    HEMO_CUDA_CHECK(cudaPointerGetAttributes(&attr, buf.get()));
    CHECK(attr.type == cudaMemoryTypeHost);  // page-locked, known to CUDA
    Tensor src = rand_f32({static_cast<int64_t>(n)}, 21);
    std::memcpy(buf.get(), src.raw(), src.nbytes());
    Tensor dev = Tensor::empty({static_cast<int64_t>(n)}, DType::f32, gpu());
    copy_bytes(dev.raw(), gpu(), buf.get(), Device::cpu(), src.nbytes());
    check_equal(dev, src, "pinned -> device");
  }
  if (cuda_caching_enabled()) {
    // The freed block went back to the cache, and the next request of its size is served from
    // there (by it, or by a same-sized block an upload staged through: core/storage.h).
    const size_t cached = cuda_pinned_cached_bytes();
    CHECK(cached >= n * sizeof(float));
    std::shared_ptr<void> again = pinned_buffer(n * sizeof(float));
    MESSAGE("pinned cache: ", cached, " bytes before, ", cuda_pinned_cached_bytes(), " after; the same block: ",
            again.get() == first);
    CHECK(cuda_pinned_cached_bytes() + n * sizeof(float) <= cached);
  }
}

#endif  // HEMO_WITH_CUDA
