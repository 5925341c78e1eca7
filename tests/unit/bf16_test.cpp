// bfloat16 (core/bf16.h): round to nearest even against an exact reference computed in double,
// the special values, and bf16 tensors: made, converted both ways, refused by ops by name, and
// written to safetensors files as BF16.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "core/bf16.h"
#include "nn/ops_elementwise.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"
#include "weights/safetensors.h"
#include "weights/tensor_io.h"

using namespace hemo;

namespace {
// The reference: the two bf16 neighbours of f (truncation and the next value up in magnitude),
// and the one nearer in exact (double) arithmetic; a tie goes to the even mantissa.
uint16_t reference_round(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint16_t lo = static_cast<uint16_t>(u >> 16), hi = static_cast<uint16_t>(lo + 1);
  const double x = f, a = bf16_to_float(bf16{lo}), b = bf16_to_float(bf16{hi});
  const double da = std::fabs(x - a), db = std::fabs(x - b);
  if (da < db) return lo;
  if (db < da) return hi;
  return (lo & 1) ? hi : lo;
}
}  // namespace

TEST_CASE("bf16: conversion rounds to nearest even, as a double-precision reference does") {
  Generator g(11, 0);
  int64_t checked = 0, rounded_up = 0;
  for (int i = 0; i < 200000; ++i) {
    // Random bit patterns over the finite range, both signs, normals and subnormals.
    const auto bits = static_cast<uint32_t>(g.uniform(0.0, 4294967295.0));
    const float f = std::bit_cast<float>(bits);
    if (!std::isfinite(f) || std::fabs(f) > 3.38e38f) continue;  // past bf16's largest finite
    const uint16_t want = reference_round(f), got = bf16_from_float(f).bits;
    if (got != want) FAIL("bf16_from_float(", f, ") = 0x", std::hex, got, ", want 0x", want);
    rounded_up += got != static_cast<uint16_t>(bits >> 16);
    ++checked;
  }
  MESSAGE(checked, " random floats rounded as the reference; ", rounded_up, " rounded away from zero");
  CHECK(checked > 190000);
  CHECK(rounded_up > checked / 4);  // the data exercised both directions
  // Ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 and goes to the even one (1); 1 + 3 * 2^-8 to 1 + 2^-6.
  CHECK(bf16_to_float(bf16_from_float(1.0f + 0.00390625f)) == 1.0f);
  CHECK(bf16_to_float(bf16_from_float(1.0f + 3 * 0.00390625f)) == 1.0f + 0.015625f);
}

TEST_CASE("bf16: special values keep their meaning") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(bf16_to_float(bf16_from_float(inf)) == inf);
  CHECK(bf16_to_float(bf16_from_float(-inf)) == -inf);
  CHECK(std::signbit(bf16_to_float(bf16_from_float(-0.0f))));
  // A NaN whose payload sits only in the low bits must not round into an infinity.
  const float nan_low = std::bit_cast<float>(0x7f800001u);
  CHECK(std::isnan(bf16_to_float(bf16_from_float(nan_low))));
  CHECK(std::isnan(bf16_to_float(bf16_from_float(std::numeric_limits<float>::quiet_NaN()))));
  // The largest float rounds to infinity (as in PyTorch); the largest bf16 stays itself.
  CHECK(bf16_to_float(bf16_from_float(std::numeric_limits<float>::max())) == inf);
  CHECK(bf16_to_float(bf16_from_float(3.3895313892515355e38f)) == 3.3895313892515355e38f);
}

TEST_CASE("bf16: tensors convert both ways within one rounding, and ops refuse them by name") {
  Generator g(5, 1);
  std::vector<float> v(1000);
  for (float& x : v) x = static_cast<float>(g.uniform(-50.0, 50.0));
  const Tensor f = Tensor::from_vector(v, {10, 100});
  const Tensor b = f.to(DType::bf16);
  CHECK(b.dtype() == DType::bf16);
  CHECK(b.nbytes() == 2000);
  CHECK(b.str() == "bfloat16[10, 100] on cpu");
  const std::vector<float> back = b.to(DType::f32).to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(back[i] == bf16_to_float(bf16_from_float(v[i])));  // exactly one rounding
    worst = std::max(worst, std::fabs(static_cast<double>(back[i]) - v[i]) / std::fabs(static_cast<double>(v[i])));
  }
  MESSAGE("worst relative error of float32 -> bfloat16: ", worst, " (bound 2^-8 = ", 1.0 / 256, ")");
  CHECK(worst <= 1.0 / 256);
  CHECK(worst > 1.0 / 4096);  // it did round
  CHECK(b.to(DType::f64).to_vector<double>()[7] == static_cast<double>(back[7]));
  CHECK(Tensor::full({3}, 1.5, DType::bf16).to(DType::f32).to_vector<float>() == std::vector<float>{1.5f, 1.5f, 1.5f});
  CHECK_THROWS_WITH_AS(nn::add(b, b), doctest::Contains("add: no bfloat16 implementation (bfloat16[10, 100] on cpu)"),
                       Error);
}

TEST_CASE("bf16: a bfloat16 tensor is saved as a BF16 safetensors entry, bit for bit, and loads exactly") {
  Generator g(9, 1);
  std::vector<float> v(37);
  for (float& x : v) x = static_cast<float>(g.uniform(-3.0, 3.0));
  const Tensor b = Tensor::from_vector(v, {37}).to(DType::bf16);
  const std::filesystem::path dir = std::filesystem::path(HEMO_TEST_WORK_DIR) / "unit" / "bf16";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "t.safetensors").string();
  weights::save_tensors(path, {{"w", b}, {"f", Tensor::from_vector(v, {37})}});
  const safetensors::File file = safetensors::File::load(path);
  REQUIRE(file.tensors().size() == 2);
  const safetensors::TensorInfo& w = file.tensors()[0].name == "w" ? file.tensors()[0] : file.tensors()[1];
  CHECK(w.dtype == safetensors::DType::BF16);
  CHECK(w.shape == std::vector<int64_t>{37});
  const auto bytes = file.bytes("w");
  REQUIRE(bytes.size() == 74);
  const bf16* bits = b.data<bf16>();
  bool same = true;
  for (size_t i = 0; i < 37; ++i)
    same = same && (bytes[2 * i] | (bytes[2 * i + 1] << 8)) == bits[i].bits;  // little-endian
  CHECK(same);
  const weights::TensorFile loaded = weights::load_tensors(path);
  const std::vector<float> back = loaded.find("w")->to_vector<float>();  // read as float32, exactly
  for (size_t i = 0; i < 37; ++i) CHECK(back[i] == bf16_to_float(bf16_from_float(v[i])));
  CHECK(loaded.find("f")->to_vector<float>() == v);
}
