// Typed options (core/options.h): one table of names per enum, one parser, one error.
#include <doctest/doctest.h>

#include "core/options.h"
#include "core/storage.h"
#include "kernels/gemm.h"
#include "kernels/precision.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#endif

using namespace hemo;

TEST_CASE("options: names, parsing and the one error listing the valid names") {
  CHECK(parse_option<Precision>("bf16") == Precision::bf16);
  CHECK(option_name(Precision::fp32) == "fp32");
  CHECK(Precision{} == Precision::fp32);  // the zero value: configurations older than --precision
  CHECK_THROWS_WITH_AS(parse_option<Precision>("fp16"), "--precision 'fp16' is not one of fp32, tf32, bf16", Error);
  CHECK(option_names<DeviceChoice>() == std::vector<std::string>{"cpu", "cuda", "auto"});
  CHECK(parse_option<DeviceChoice>("auto") == DeviceChoice::auto_);
  CHECK_THROWS_WITH_AS(parse_option<DeviceChoice>("tpu"), "--device 'tpu' is not one of cpu, cuda, auto", Error);
  CHECK(resolve(DeviceChoice::cpu) == Device::cpu());
  if (!cuda_available()) CHECK_THROWS_AS(resolve(DeviceChoice::cuda), Error);
}

TEST_CASE("options: --precision sets the TF32 switch and both devices' bf16 products") {
  set_precision(Precision::bf16);
  CHECK(cpu::gemm_bf16());
#if HEMO_WITH_CUDA
  CHECK(cuda::bf16_products());
  CHECK_FALSE(cuda::allow_tf32());
#endif
  set_precision(Precision::fp32);
  CHECK_FALSE(cpu::gemm_bf16());
#if HEMO_WITH_CUDA
  CHECK_FALSE(cuda::bf16_products());
  set_precision(Precision::tf32);
  CHECK(cuda::allow_tf32());
  CHECK_FALSE(cuda::bf16_products());
  CHECK_FALSE(cpu::gemm_bf16());
  set_precision(Precision::fp32);
  CHECK_FALSE(cuda::allow_tf32());
#else
  set_precision(Precision::tf32);  // nothing to switch on the CPU: no error
  CHECK_FALSE(cpu::gemm_bf16());
  set_precision(Precision::fp32);
#endif
}
