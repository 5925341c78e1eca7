#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "tensor/rng.h"

using namespace hemo;

TEST_CASE("rng: Philox4x32-10 known-answer vectors (Random123)") {
  CHECK(philox4x32(0, 0, 0) == std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32(~0ull, ~0ull, ~0ull) == std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
}

TEST_CASE("rng: streams are reproducible and restorable") {
  Generator a(42), b(42), c(43), s(42, 1);
  std::vector<uint32_t> va, vb;
  for (int i = 0; i < 10; ++i) { va.push_back(a.next_u32()); vb.push_back(b.next_u32()); }
  CHECK(va == vb);
  CHECK(c.next_u32() != Generator(42).next_u32());
  CHECK(s.next_u32() != Generator(42).next_u32());
  Generator d(7);
  d.uniform();
  d.reserve(3);
  auto st = d.state();
  double x = d.uniform();
  d.set_state(st);
  CHECK(d.uniform() == x);
}

TEST_CASE("rng: distributions look right") {
  Generator g(1);
  double sum = 0, sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    double v = g.normal();
    sum += v;
    sq += v * v;
  }
  CHECK(std::fabs(sum / n) < 0.03);
  CHECK(std::fabs(sq / n - 1.0) < 0.05);
  auto p = g.permutation(100);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  CHECK(p != sorted);
  for (int i = 0; i < 1000; ++i) CHECK(g.below(7) < 7);
}
