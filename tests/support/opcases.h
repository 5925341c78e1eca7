// What the op-case drivers share (tests/*/opcases_*.cpp, one per check; opcases/registry.h says
// what a case is).
//
// for_each_case(check, fn) calls fn(case) for every registered case that runs that check and that
// HEMO_OPCASE selects (unset: all; otherwise a case name or a prefix ending in '.', e.g.
// "conv2d." or "pooling.max."); every failure message starts with the case name and sample, and
// an exception fails that case only, with its name. A Worst collects each case's worst mismatch (error / allowance
// for compare.h; relative error for gradcheck) and prints one line per case, passing or not:
//   [opcases] gradcheck conv2d.3x3: 3 samples, worst 2.1e-08 (12 ms)
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "opcases/registry.h"
#include "tests/support/compare.h"
#include "tests/support/random.h"

namespace hemo::test {

inline bool opcase_selected(const opcases::OpCase& c) {
  const char* sel = std::getenv("HEMO_OPCASE");
  if (!sel || !*sel) return true;
  const std::string s = sel;
  return c.name == s || (s.back() == '.' && c.name.rfind(s, 0) == 0);
}

template <class Fn>
void for_each_case(opcases::Check check, Fn&& fn) {
  size_t ran = 0;
  for (const opcases::OpCase& c : opcases::registry()) {
    if (!c.runs(check) || !opcase_selected(c)) continue;
    ++ran;
    try {
      fn(c);
    } catch (const std::exception& e) {
      FAIL_CHECK(c.name, ": ", opcases::check_name(check), " threw: ", e.what());
    }
  }
  std::printf("[opcases] %s: %zu cases\n", opcases::check_name(check), ran);
  CHECK_MESSAGE(ran > 0, "no op case ran the ", std::string(opcases::check_name(check)), " check (HEMO_OPCASE?)");
}

// The label of one sample in messages: "conv2d.3x3 sample 2 [3, 5, 7, 13]" (the first input's shape).
inline std::string sample_label(const opcases::OpCase& c, size_t i, const opcases::Shapes& s) {
  return cat(c.name, i == SIZE_MAX ? std::string(" bench") : cat(" sample ", i), " ",
             s.empty() ? std::string("[]") : shape_str(s[0]));
}

inline size_t sample_numel(const opcases::Shapes& s) {
  size_t n = 0;
  for (const Shape& x : s) n += static_cast<size_t>(shape_numel(x));
  return n;
}

struct Worst {
  opcases::Check check;
  std::string name;
  size_t samples = 0;
  double worst = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // compare.h's comparison, CHECKed and counted.
  void close(const Tensor& actual, const Tensor& expected, double tol, const std::string& what) {
    Comparison cmp = compare(actual, expected, tol, what);
    CHECK_MESSAGE(cmp.ok, cmp.report);
    worst = std::max(worst, cmp.worst);
  }
  void print() const {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("[opcases] %s %s: %zu samples, worst %.3g (%.0f ms)\n", opcases::check_name(check), name.c_str(),
                samples, worst, ms);
  }
};

// A random output gradient, never zero, on the output's device.
inline Tensor grad_out_like(const Tensor& out, uint64_t seed) {
  return random_tensor(out.shape(), seed, out.dtype()).to(out.device());
}
}  // namespace hemo::test
