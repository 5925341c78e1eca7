// IEEE half precision (core/fp16.h): widening against the format's formula for all 65536 bit
// patterns; rounding to nearest even against a reference computed in double (ties included); the
// special values; and weights::narrowed, which stores a model's float32 tensors as F16 or BF16.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "core/bf16.h"
#include "core/error.h"
#include "core/fp16.h"
#include "tensor/rng.h"
#include "weights/safetensors.h"
#include "weights/tensor_io.h"

using namespace hemo;

namespace {
// The value binary16 rounding gives |x| < 65520 in exact arithmetic: the nearest multiple of the
// spacing at x's binade (2^(e - 10), e >= -14 so that subnormals share the spacing 2^-24), a tie
// going to the even multiple (std::nearbyint under the default rounding mode).
double reference_round(double x) {
  const double a = std::fabs(x);
  if (a == 0) return x;
  const int e = std::max(static_cast<int>(std::floor(std::log2(a))), -14);
  const double ulp = std::ldexp(1.0, e - 10);
  return std::copysign(std::nearbyint(a / ulp) * ulp, x);
}

safetensors::Entry f32_entry(const std::string& name, const std::vector<float>& v) {
  safetensors::Entry e{name, safetensors::DType::F32, {static_cast<int64_t>(v.size())},
                       std::vector<uint8_t>(4 * v.size())};
  std::memcpy(e.data.data(), v.data(), e.data.size());
  return e;
}

uint16_t bits_at(const safetensors::Entry& e, size_t i) {
  uint16_t h;
  std::memcpy(&h, e.data.data() + 2 * i, 2);
  return h;
}
}  // namespace

TEST_CASE("fp16: every half widens to the value its sign, exponent and mantissa denote") {
  int64_t checked = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const double sign = (h & 0x8000u) ? -1.0 : 1.0;
    const int exp = static_cast<int>((h >> 10) & 0x1Fu), mant = static_cast<int>(h & 0x3FFu);
    const float got = fp16_to_float(static_cast<uint16_t>(h));
    if (exp == 31) {
      if (mant == 0) CHECK(got == static_cast<float>(sign * std::numeric_limits<double>::infinity()));
      else CHECK(std::isnan(got));
      continue;
    }
    const double want = sign * (exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25));
    if (static_cast<double>(got) != want || std::signbit(got) != (sign < 0))
      FAIL("fp16_to_float(0x", std::hex, h, ") = ", got, ", want ", want);
    // Narrowing a half's own value gives back its bits (both zeros included).
    if (fp16_from_float(got) != h)
      FAIL("fp16_from_float(", got, ") = 0x", std::hex, fp16_from_float(got), ", want 0x", h);
    ++checked;
  }
  CHECK(checked == 63488);  // 65536 less the 2048 infinities and NaNs
}

TEST_CASE("fp16: conversion rounds to nearest even, as a double-precision reference does, ties included") {
  Generator g(17, 0);
  int64_t checked = 0, subnormal = 0, inexact = 0;
  for (int i = 0; i < 300000; ++i) {
    // Floats from 2^-30 to 2^16 in magnitude, both signs: half's subnormals, normals and its top.
    const auto bits = static_cast<uint32_t>(g.uniform(0x30800000u, 0x47800000u));
    const float f = std::bit_cast<float>(bits | (i % 2 ? 0x80000000u : 0u));
    if (std::fabs(f) >= 65520.0f) continue;
    const double want = reference_round(f), got = fp16_to_float(fp16_from_float(f));
    if (got != want) FAIL("fp16_from_float(", f, ") widens to ", got, ", want ", want);
    subnormal += std::fabs(f) < 6.103515625e-05f;
    inexact += got != static_cast<double>(f);
    ++checked;
  }
  MESSAGE(checked, " random floats rounded as the reference; ", subnormal, " in half's subnormal range");
  CHECK(checked > 290000);
  CHECK(subnormal > 10000);
  CHECK(inexact > checked / 2);
  // Every midpoint between two neighbouring finite halves goes to the even one; a float either side
  // of it goes to the nearer one.
  int64_t ties = 0;
  for (uint16_t h = 0; h < 0x7BFF; ++h) {
    const double lo = fp16_to_float(h), hi = fp16_to_float(static_cast<uint16_t>(h + 1));
    const auto mid = static_cast<float>((lo + hi) / 2);  // exact: 12 significant bits
    const uint16_t even = (h & 1u) ? static_cast<uint16_t>(h + 1) : h;
    if (fp16_from_float(mid) != even || fp16_from_float(-mid) != (even | 0x8000u)) FAIL("tie at ", mid);
    if (fp16_from_float(std::nextafter(mid, 0.0f)) != h) FAIL("just below the tie at ", mid);
    if (fp16_from_float(std::nextafter(mid, 1e9f)) != h + 1) FAIL("just above the tie at ", mid);
    ++ties;
  }
  CHECK(ties == 0x7BFF);
}

TEST_CASE("fp16: special values and the edges of the range") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(fp16_from_float(inf) == 0x7C00u);
  CHECK(fp16_from_float(-inf) == 0xFC00u);
  CHECK(fp16_from_float(-0.0f) == 0x8000u);
  CHECK(std::isnan(fp16_to_float(fp16_from_float(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(fp16_to_float(fp16_from_float(std::bit_cast<float>(0x7F800001u)))));  // payload in the low bits only
  CHECK(fp16_from_float(65504.0f) == 0x7BFFu);                                  // the largest half
  CHECK(fp16_from_float(std::nextafter(65520.0f, 0.0f)) == 0x7BFFu);
  CHECK(fp16_from_float(65520.0f) == 0x7C00u);                                  // the tie goes to even: infinity
  CHECK(fp16_from_float(std::numeric_limits<float>::max()) == 0x7C00u);
  CHECK(fp16_from_float(std::ldexp(1.0f, -25)) == 0u);                          // half the smallest subnormal: to 0
  CHECK(fp16_from_float(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 1u);
  CHECK(fp16_from_float(std::ldexp(3.0f, -25)) == 2u);                          // 1.5 ulp: to the even 2
  CHECK(fp16_from_float(std::ldexp(1.0f, -14)) == 0x0400u);                     // the smallest normal
  CHECK(fp16_from_float(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)) == 0x0400u);  // rounds up into it
  CHECK(fp16_from_float(1.0f / 3) == 0x3555u);
}

TEST_CASE("narrowed: a float32 entry in 16 bits, within one rounding, loaded back as float32") {
  Generator g(3, 2);
  std::vector<float> v(4096);
  for (float& x : v) x = static_cast<float>(g.normal(0.0, 1.0) * std::exp(g.uniform(-12.0, 6.0)));
  v[0] = 0.0f;
  v[1] = 60000.0f;
  v[2] = -1e-7f;  // a subnormal half
  const safetensors::Entry f32 = f32_entry("layer.weight", v);
  const safetensors::Entry h = weights::narrowed(f32, safetensors::DType::F16);
  const safetensors::Entry b = weights::narrowed(f32, safetensors::DType::BF16);
  CHECK(h.dtype == safetensors::DType::F16);
  CHECK(b.dtype == safetensors::DType::BF16);
  CHECK(h.shape == f32.shape);
  CHECK(h.data.size() == 2 * v.size());
  CHECK(b.data.size() == 2 * v.size());

  const std::filesystem::path dir = std::filesystem::path(HEMO_TEST_WORK_DIR) / "unit" / "fp16";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "narrowed.safetensors").string();
  const safetensors::Entry steps{"steps", safetensors::DType::I64, {1}, std::vector<uint8_t>{7, 0, 0, 0, 0, 0, 0, 0}};
  CHECK(weights::narrowed(steps, safetensors::DType::F16).dtype == safetensors::DType::I64);  // not a float32: kept
  safetensors::save(path, {h, {"b", b.dtype, b.shape, b.data}, steps});
  const weights::TensorFile loaded = weights::load_tensors(path);
  const std::vector<float> from_h = loaded.find("layer.weight")->to_vector<float>();
  const std::vector<float> from_b = loaded.find("b")->to_vector<float>();
  double worst_h = 0, worst_b = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(from_h[i] == fp16_to_float(bits_at(h, i)));
    CHECK(from_h[i] == static_cast<float>(reference_round(v[i])));
    CHECK(from_b[i] == bf16_to_float(bf16_from_float(v[i])));
    const double scale = std::max(std::fabs(static_cast<double>(v[i])), std::ldexp(1.0, -14));  // subnormals: absolute
    worst_h = std::max(worst_h, std::fabs(from_h[i] - static_cast<double>(v[i])) / scale);
    worst_b = std::max(worst_b, std::fabs(from_b[i] - static_cast<double>(v[i])) / scale);
  }
  MESSAGE("worst relative error: F16 ", worst_h, " (bound 2^-11 = ", std::ldexp(1.0, -11), "), BF16 ", worst_b,
          " (bound 2^-8)");
  CHECK(worst_h <= std::ldexp(1.0, -11));
  CHECK(worst_b <= std::ldexp(1.0, -8));
  CHECK(worst_b > worst_h);
  CHECK(loaded.find("steps")->to_vector<float>() == std::vector<float>{7.0f});

  // Beyond fp16's range: refused, naming the tensor and the value; bf16 takes it.
  const safetensors::Entry big = f32_entry("head.bias", {1.0f, -70000.0f});
  CHECK_THROWS_WITH_AS(weights::narrowed(big, safetensors::DType::F16),
                       doctest::Contains("head.bias: value -70000 at index 1 is beyond fp16's range"), Error);
  CHECK(bf16_to_float(bf16{bits_at(weights::narrowed(big, safetensors::DType::BF16), 1)}) == -70144.0f);
}
