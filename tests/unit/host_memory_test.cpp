// core/host_memory.h: the CPU allocator behind Storage counts its blocks, and an allocation that
// fails (the heap's own refusal of a huge tensor, or the settable limit) throws hemo::OutOfMemory
// saying how much was asked, how much hemo's tensors hold, and to try a smaller --batch-size;
// nothing is leaked or counted twice, and the next allocation works.
#include "core/host_memory.h"

#include <doctest/doctest.h>

#include <string>

#include "core/error.h"
#include "core/storage.h"
#include "tensor/tensor.h"

using namespace hemo;

namespace {

std::string oom_message(size_t bytes) {
  try {
    Storage s(bytes, Device::cpu());
  } catch (const OutOfMemory& e) {
    return e.what();
  }
  return "(no error)";
}

struct LimitGuard {
  explicit LimitGuard(size_t bytes) { set_host_memory_limit(bytes); }
  ~LimitGuard() { set_host_memory_limit(0); }
};

}  // namespace

TEST_CASE("host allocator: blocks are counted while they live, and the peak stays") {
  const HostMemoryStats before = host_memory_stats();
  {
    Tensor t = Tensor::zeros({1000, 1000}, DType::f32, Device::cpu());  // 4,000,000 bytes
    const HostMemoryStats during = host_memory_stats();
    CHECK(during.in_use >= before.in_use + 4000000);
    CHECK(during.peak_in_use >= during.in_use);
    CHECK(during.allocations > before.allocations);
  }
  CHECK(host_memory_stats().in_use == before.in_use);
  CHECK(host_memory_stats().peak_in_use >= before.in_use + 4000000);
}

TEST_CASE("host allocator: a tensor the heap refuses is OutOfMemory with the size, the bytes in use and --batch-size") {
  Tensor held = Tensor::zeros({256, 1024}, DType::f32, Device::cpu());  // 1 MiB in use at least
  const HostMemoryStats before = host_memory_stats();
  const size_t huge = size_t{1} << 50;  // 1 PiB: aligned_alloc returns null
  const std::string m = oom_message(huge);
  CHECK_MESSAGE(m.find("out of host memory") != std::string::npos, m);
  CHECK_MESSAGE(m.find(std::to_string(huge) + " bytes") != std::string::npos, m);        // asked
  CHECK_MESSAGE(m.find("hold " + format_bytes(before.in_use)) != std::string::npos, m);  // in use
  CHECK_MESSAGE(m.find("peak") != std::string::npos, m);
  CHECK_MESSAGE(m.find("--batch-size") != std::string::npos, m);
  CHECK(host_memory_stats().in_use == before.in_use);  // the failed request took nothing
  const std::string wrap = oom_message(SIZE_MAX);  // the rounding would overflow
  CHECK_MESSAGE(wrap.find("out of host memory") != std::string::npos, wrap);
  Tensor next = Tensor::ones({5}, DType::f32, Device::cpu());
  CHECK(next.to_vector<float>() == std::vector<float>(5, 1.0f));
}

TEST_CASE("host allocator: the limit (HEMO_HOST_MEMORY_MB's twin) refuses what would pass it, and names itself") {
  const size_t in_use = host_memory_stats().in_use;
  LimitGuard limit(in_use + (size_t{8} << 20));  // 8 MiB more than now
  Tensor fits = Tensor::zeros({1 << 20}, DType::f32, Device::cpu());  // 4 MiB
  const std::string m = oom_message(size_t{6} << 20);                // 4 + 6 > 8
  CHECK_MESSAGE(m.find("asked for 6.00 MiB (6291456 bytes)") != std::string::npos, m);
  CHECK_MESSAGE(m.find("the limit is") != std::string::npos, m);
  CHECK_MESSAGE(m.find("HEMO_HOST_MEMORY_MB") != std::string::npos, m);
  CHECK_MESSAGE(m.find("--batch-size") != std::string::npos, m);
  CHECK(host_memory_stats().in_use == in_use + (size_t{4} << 20));
  // OutOfMemory is a hemo::Error: every caller that reports errors reports this one.
  CHECK_THROWS_AS(Tensor::zeros({3 << 20}, DType::f32, Device::cpu()), Error);
}

TEST_CASE("out_of_host_memory_message for a std::bad_alloc: no size, the bytes in use, --batch-size") {
  const std::string m = out_of_host_memory_message(0);
  CHECK_MESSAGE(m.find("std::bad_alloc") != std::string::npos, m);
  CHECK_MESSAGE(m.find("hemo's tensors hold") != std::string::npos, m);
  CHECK_MESSAGE(m.find("--batch-size") != std::string::npos, m);
}
