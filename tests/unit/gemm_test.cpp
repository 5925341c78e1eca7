// The blocked GEMM against a naive triple loop (in long double) on random non-zero data: every
// transpose combination, sizes that leave partial micro-tiles and cross k panels and packing
// chunks, padded leading dimensions, alpha/beta, and calls from inside a parallel region.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/bf16.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "tensor/rng.h"

using namespace hemo;

namespace {

template <class T>
std::vector<T> random_values(size_t count, uint64_t seed) {
  Generator g(seed, 5);
  std::vector<T> v(count);
  for (T& x : v) x = static_cast<T>((g.uniform() < 0.5 ? -1 : 1) * g.uniform(0.1, 1.0));
  return v;
}

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  double alpha, beta;
  int64_t pad = 0;    // extra elements at the end of every stored row
  bool bf16 = false;  // set_gemm_bf16: the reference multiplies the bf16-rounded operands
};

float bf16_round(float x) { return bf16_to_float(bf16_from_float(x)); }

// Every variant this CPU runs (the GEMM is compiled for several instruction sets; CI machines
// may pick any of them), best first. Selecting them in turn ends on the worst: restore_best().
std::vector<std::string> runnable_isas(bool bf16 = false) {
  std::vector<std::string> isas;
  if (bf16 && cpu::gemm_select_isa("amx")) isas.push_back("amx");  // bf16 products only
  for (const char* isa : {"avx512", "avx2", "sse2", "generic"})
    if (cpu::gemm_select_isa(isa)) isas.push_back(isa);
  return isas;
}
void restore_best() {
  cpu::gemm_select_isa("amx");
  for (const char* isa : {"avx512", "avx2", "sse2", "generic"})
    if (cpu::gemm_select_isa(isa)) return;
}

// Runs gemm with every variant on random A, B, C and checks every element against the naive
// product within tol * (sum_p |alpha a_ip b_pj| + |beta c_ij|) (rounding grows with the
// magnitudes summed); the padding past column n must stay untouched. Returns the worst ratio of
// error to allowance over the variants.
template <class T>
double check_case(const Case& c, double tol, uint64_t seed) {
  CAPTURE(c.ta);
  CAPTURE(c.tb);
  CAPTURE(c.m);
  CAPTURE(c.n);
  CAPTURE(c.k);
  CAPTURE(c.beta);
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  const std::vector<T> a = random_values<T>(static_cast<size_t>(a_rows * lda), seed);
  const std::vector<T> b = random_values<T>(static_cast<size_t>(b_rows * ldb), seed + 1);
  std::vector<T> c0 = random_values<T>(static_cast<size_t>(c.m * ldc), seed + 2);
  if (c.beta == 0) std::fill(c0.begin(), c0.end(), std::numeric_limits<T>::quiet_NaN());  // must not be read
  std::vector<long double> want(static_cast<size_t>(c.m * c.n)), allowed(want.size());
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      long double sum = 0, mag = 0;
      for (int64_t p = 0; p < c.k; ++p) {
        long double av = c.ta ? a[static_cast<size_t>(p * lda + i)] : a[static_cast<size_t>(i * lda + p)];
        long double bv = c.tb ? b[static_cast<size_t>(j * ldb + p)] : b[static_cast<size_t>(p * ldb + j)];
        if (c.bf16) {
          av = bf16_round(static_cast<float>(av));
          bv = bf16_round(static_cast<float>(bv));
        }
        sum += av * bv;
        mag += std::fabs(av * bv);
      }
      const long double old = c.beta == 0 ? 0 : c0[static_cast<size_t>(i * ldc + j)];
      want[static_cast<size_t>(i * c.n + j)] = c.alpha * sum + c.beta * old;
      allowed[static_cast<size_t>(i * c.n + j)] = tol * (std::fabs(c.alpha) * mag + std::fabs(c.beta * old)) + 1e-30;
    }
  }
  double worst = 0;
  for (const std::string& isa : runnable_isas(c.bf16)) {
    CAPTURE(isa);
    REQUIRE(cpu::gemm_select_isa(isa));
    std::vector<T> cm = c0;
    cpu::set_gemm_bf16(c.bf16);
    cpu::gemm<T>(cpu::backend,
                 {.trans_a = c.ta, .trans_b = c.tb, .m = c.m, .n = c.n, .k = c.k, .lda = lda, .ldb = ldb, .ldc = ldc},
                 static_cast<T>(c.alpha), a.data(), b.data(), static_cast<T>(c.beta), cm.data());
    CAPTURE(cpu::gemm_kernel_name<T>());
    cpu::set_gemm_bf16(false);
    int64_t bad = 0;
    std::string first;
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < ldc; ++j) {
        const T got = cm[static_cast<size_t>(i * ldc + j)], was = c0[static_cast<size_t>(i * ldc + j)];
        const bool ok = j < c.n ? std::fabs(got - want[static_cast<size_t>(i * c.n + j)]) <=
                                      allowed[static_cast<size_t>(i * c.n + j)]
                                : got == was || (std::isnan(got) && std::isnan(was));
        if (j < c.n)
          worst = std::max(worst, static_cast<double>(std::fabs(got - want[static_cast<size_t>(i * c.n + j)]) /
                                                      allowed[static_cast<size_t>(i * c.n + j)]));
        if (!ok && bad++ == 0)
          first = cat("C[", i, "][", j, "] = ", static_cast<double>(got), ", want ",
                      j < c.n ? static_cast<double>(want[static_cast<size_t>(i * c.n + j)]) : static_cast<double>(was));
      }
    }
    CHECK_MESSAGE(bad == 0, bad, " wrong elements; first: ", first);
  }
  restore_best();
  return worst;
}

std::vector<Case> transposes(int64_t m, int64_t n, int64_t k, double alpha, double beta, int64_t pad = 0) {
  return {{false, false, m, n, k, alpha, beta, pad},
          {true, false, m, n, k, alpha, beta, pad},
          {false, true, m, n, k, alpha, beta, pad},
          {true, true, m, n, k, alpha, beta, pad}};
}

}  // namespace

TEST_CASE("gemm: tiny hand-computed product, every transpose combination") {
  // A = [[1, 2, 3], [4, 5, 6]] (2x3), B = [[1, -1], [0, 2], [-2, 1]] (3x2): A B = [[-5, 6], [-8, 12]].
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, at = {1, 4, 2, 5, 3, 6};
  const std::vector<float> b = {1, -1, 0, 2, -2, 1}, bt = {1, 0, -2, -1, 2, 1};
  for (int combo = 0; combo < 4; ++combo) {
    const bool ta = combo & 1, tb = combo & 2;
    std::vector<float> c = {100, 100, 100, 100};
    // C = 2 A B + 0.5 C
    cpu::gemm<float>(
        cpu::backend,
        {.trans_a = ta, .trans_b = tb, .m = 2, .n = 2, .k = 3, .lda = ta ? 2 : 3, .ldb = tb ? 3 : 2, .ldc = 2}, 2.0f,
        ta ? at.data() : a.data(), tb ? bt.data() : b.data(), 0.5f, c.data());
    CAPTURE(combo);
    CHECK(c == std::vector<float>{40, 62, 34, 74});
  }
}

TEST_CASE("gemm: float, odd sizes with partial tiles, several k panels, padded rows") {
  for (const Case& c : transposes(37, 71, 29, 1, 0)) check_case<float>(c, 1e-5, 1);
  for (const Case& c : transposes(5, 3, 600, 1, 0, 3)) check_case<float>(c, 1e-5, 2);
  for (const Case& c : transposes(130, 300, 300, -0.75, 0.5, 5)) check_case<float>(c, 1e-5, 3);
  for (const Case& c : transposes(1, 1, 1, 2, 1)) check_case<float>(c, 1e-6, 4);
}

TEST_CASE("gemm: float, a wide product whose packed rows come in several chunks") {
  // n >= 4 m splits the work by columns; 232 rows with deep k need more than one packed chunk of A.
  check_case<float>({false, false, 232, 1000, 300, 1, 0}, 1e-5, 5);
  check_case<float>({true, true, 232, 1000, 300, 1, 0.25}, 1e-5, 6);
}

// bf16 products: each variant (AMX tiles where the CPU has them, else the float micro-kernel on
// rounded operands) against the exact product of the bf16-rounded operands, within float32
// summation error; the float32 product is farther than that from it, so the check sees the rounding.
TEST_CASE("gemm: bf16 products (set_gemm_bf16) are the float32 sums of bf16-rounded operands") {
  double worst = 0;
  for (Case c : transposes(37, 71, 29, 1, 0)) {
    c.bf16 = true;
    worst = std::max(worst, check_case<float>(c, 1e-5, 21));
  }
  for (Case c : transposes(70, 45, 600, -0.75, 0.5, 3)) {  // several k panels, k not a multiple of 32
    c.bf16 = true;
    worst = std::max(worst, check_case<float>(c, 1e-5, 22));
  }
  for (Case c : transposes(130, 300, 64, 1, 0, 1)) {
    c.bf16 = true;
    worst = std::max(worst, check_case<float>(c, 1e-5, 23));
  }
  Case wide{false, false, 232, 1000, 300, 1, 0.25};
  wide.bf16 = true;
  worst = std::max(worst, check_case<float>(wide, 1e-5, 24));
  MESSAGE("bf16 GEMM: worst error / allowance ", worst);
  // Without the mode, the same reference is missed by far more than the allowance.
  Case off{false, false, 37, 71, 29, 1, 0};
  off.bf16 = true;
  const int64_t m = off.m, n = off.n, k = off.k;
  const std::vector<float> a = random_values<float>(static_cast<size_t>(m * k), 21);
  const std::vector<float> b = random_values<float>(static_cast<size_t>(k * n), 22);
  std::vector<float> got(static_cast<size_t>(m * n));
  cpu::gemm<float>(cpu::backend, {.m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n}, 1.0f, a.data(), b.data(),
                   0.0f, got.data());
  double off_worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      long double sum = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const long double prod = static_cast<long double>(bf16_round(a[static_cast<size_t>(i * k + p)])) *
                                 bf16_round(b[static_cast<size_t>(p * n + j)]);
        sum += prod;
        mag += std::fabs(prod);
      }
      off_worst = std::max(off_worst, static_cast<double>(std::fabs(got[static_cast<size_t>(i * n + j)] - sum) /
                                                          (1e-5 * mag)));
    }
  MESSAGE("float32 GEMM against the bf16 reference: worst error / allowance ", off_worst);
  CHECK(off_worst > 10);
  CHECK_FALSE(cpu::gemm_bf16());
}

TEST_CASE("gemm: double agrees to double precision") {
  for (const Case& c : transposes(45, 67, 300, 1.5, -1)) check_case<double>(c, 1e-13, 7);
  for (const Case& c : transposes(64, 288, 513, 1, 0)) check_case<double>(c, 1e-13, 8);
}

TEST_CASE("gemm: degenerate sizes") {
  std::vector<float> a(6, 1), b(6, 1), c = {1, 2, 3, 4};
  cpu::gemm<float>(cpu::backend,
                   {.trans_a = false, .trans_b = false, .m = 2, .n = 2, .k = 0, .lda = 1, .ldb = 2, .ldc = 2}, 1.0f,
                   a.data(), b.data(), 3.0f, c.data());  // k = 0: C = beta C
  CHECK(c == std::vector<float>{3, 6, 9, 12});
  cpu::gemm<float>(cpu::backend,
                   {.trans_a = false, .trans_b = false, .m = 2, .n = 2, .k = 3, .lda = 3, .ldb = 2, .ldc = 2}, 1.0f,
                   a.data(), b.data(), 0.0f, c.data());
  CHECK(c == std::vector<float>{3, 3, 3, 3});
  cpu::gemm<float>(cpu::backend,
                   {.trans_a = false, .trans_b = false, .m = 0, .n = 2, .k = 3, .lda = 3, .ldb = 2, .ldc = 2}, 1.0f,
                   a.data(), b.data(), 0.0f, c.data());  // m = 0: no-op
  CHECK(c == std::vector<float>{3, 3, 3, 3});
  CHECK_THROWS_AS(
      cpu::gemm<float>(cpu::backend,
                       {.trans_a = false, .trans_b = false, .m = 2, .n = 2, .k = 3, .lda = 2, .ldb = 2, .ldc = 2}, 1.0f,
                       a.data(), b.data(), 0.0f, c.data()),
      Error);
  restore_best();
  CHECK(std::string(cpu::gemm_kernel_name<float>()).size() > 0);
  CHECK_FALSE(cpu::gemm_select_isa("no such isa"));
}

TEST_CASE("gemm: independent products from inside a parallel region (each on its own thread)") {
  restore_best();
  const int64_t m = 40, n = 90, k = 70;
  std::vector<float> a = random_values<float>(static_cast<size_t>(m * k), 11);
  std::vector<float> b = random_values<float>(static_cast<size_t>(k * n), 12);
  std::vector<float> want(static_cast<size_t>(m * n));
  cpu::gemm<float>(cpu::backend,
                   {.trans_a = false, .trans_b = false, .m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n}, 1.0f,
                   a.data(), b.data(), 0.0f, want.data());
  std::vector<std::vector<float>> got(4, std::vector<float>(static_cast<size_t>(m * n)));
#pragma omp parallel for num_threads(2) schedule(static, 1)
  for (int i = 0; i < 4; ++i)
    cpu::gemm<float>(cpu::backend,
                     {.trans_a = false, .trans_b = false, .m = m, .n = n, .k = k, .lda = k, .ldb = n, .ldc = n}, 1.0f,
                     a.data(), b.data(), 0.0f, got[static_cast<size_t>(i)].data());
  for (const auto& g : got) CHECK(g == want);  // same blocking, same threads-independent summation order
}
