// Blocked GEMM (contract in kernels/gemm.h), in the GotoBLAS/BLIS style.
//
// Packing: op(A) is copied into slivers of MR rows and op(B) into slivers of NR columns, each
// stored k-major (an A sliver holds its MR values of k step 0, then of step 1, ...), so that the
// micro-kernel reads both with unit stride. Slivers past the matrix edge are zero-padded, and the
// micro-kernel writes only the valid part of an edge tile.
//
// Micro-kernel: one MR x NR tile of C, its accumulators held in vector registers for a whole
// k panel (GCC vector types: no intrinsics, and the same source compiles for any instruction set).
// FMA contraction is enabled for this file in kernels/CMakeLists.txt.
//
// Threads: C is split along the side with more slivers into tasks that the threads take
// dynamically (a thread that the OS preempts, say for the data loader, delays one task rather
// than a fixed share of the work). The operand along the other side is needed by every task:
// each thread packs its own copy of it ("shared" below; min(m, n) x k, small next to the
// m n k product), and each task packs its own slivers of the split operand ("own"). There is no
// barrier between the phases, only the join at the end.
//
// Cache blocking: the k dimension is cut into panels of about KC; a task runs all k panels over
// its block of C before the next task starts, so the block stays in L1/L2. Per k panel it runs
// each A sliver (held in L1) against every B sliver of its range (streamed from L2). The shared
// operand is packed in chunks whose k panel fits in L2.
#include "kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace hemo::cpu {
namespace {

template <class T>
struct Problem {
  bool trans_a, trans_b;
  int64_t m, n, k;
  T alpha;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T beta;
  T* c;
  int64_t ldc;
  // op(A)(i, p) and op(B)(p, j)
  const T* a_at(int64_t i, int64_t p) const { return trans_a ? a + p * lda + i : a + i * lda + p; }
  const T* b_at(int64_t p, int64_t j) const { return trans_b ? b + j * ldb + p : b + p * ldb + j; }
};

// One micro-kernel shape and the cache blocking that suits it. VB: vector width in bytes.
template <class T, int VB, int MR_, int NR_, int64_t KC_>
struct Config {
  using type = T;
  static constexpr int vec_bytes = VB, MR = MR_, NR = NR_;
  static constexpr int64_t KC = KC_;
  static_assert(NR * sizeof(T) % VB == 0);
};

// acc = sum over p < kc of a[p][0..MR) (outer product) b[p][0..NR); then the valid mr x nr part
// of the tile C = alpha acc + beta C (C not read when beta == 0).
template <class Cfg, class T = typename Cfg::type>
[[gnu::always_inline]] inline void micro_kernel(int64_t kc, const T* a, const T* b, T alpha, T beta, T* c,
                                                int64_t ldc, int64_t mr, int64_t nr) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR, VB = Cfg::vec_bytes;
  constexpr int VL = VB / static_cast<int>(sizeof(T)), NV = NR / VL;
  typedef T V __attribute__((vector_size(VB)));
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) std::memcpy(&bv[j], b + j * VL, VB);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i];
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] += ai * bv[j];
    }
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        T* cp = c + i * ldc + j * VL;
        V out = alpha * acc[i][j];
        if (beta != T(0)) {
          V old;
          std::memcpy(&old, cp, VB);
          out += beta * old;
        }
        std::memcpy(cp, &out, VB);
      }
    }
    return;
  }
  alignas(64) T tile[MR * NR];
  std::memcpy(tile, acc, sizeof tile);
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) {
      T& cij = c[i * ldc + j];
      cij = beta == T(0) ? alpha * tile[i * NR + j] : alpha * tile[i * NR + j] + beta * cij;
    }
}

// From R vectors that are contiguous along k (src[r * ld + p]) to one sliver: a transpose, done
// in small tiles through a local buffer so that both the reads and the writes run in short
// contiguous pieces.
template <int R, class T>
[[gnu::always_inline]] inline void pack_transposed(const T* src, int64_t ld, int64_t rows, int64_t k, T* out) {
  constexpr int TR = R % 8 == 0 ? 8 : R, TP = 8;
  int64_t p = 0;
  if (rows == R) {
    for (; p + TP <= k; p += TP) {
#pragma GCC unroll 4
      for (int r0 = 0; r0 < R; r0 += TR) {
        T tile[TP][TR];
#pragma GCC unroll 8
        for (int r = 0; r < TR; ++r)
#pragma GCC unroll 8
          for (int q = 0; q < TP; ++q) tile[q][r] = src[(r0 + r) * ld + p + q];
#pragma GCC unroll 8
        for (int q = 0; q < TP; ++q) std::memcpy(out + (p + q) * R + r0, tile[q], sizeof tile[q]);
      }
    }
  }
  for (; p < k; ++p)
    for (int64_t r = 0; r < R; ++r) out[p * R + r] = r < rows ? src[r * ld + p] : T(0);
}

// From k vectors that each hold one k step contiguously (src[p * ld + j], j < cols) to
// ceil(cols / R) slivers: each source row is read once, in order, which keeps the hardware
// prefetcher useful even when ld is large.
template <int R, class T>
[[gnu::always_inline]] inline void pack_copied(const T* src, int64_t ld, int64_t cols, int64_t k, T* out) {
  const int64_t full = cols / R * R;
  for (int64_t p = 0; p < k; ++p) {
    const T* row = src + p * ld;
    for (int64_t j = 0; j < full; j += R) std::memcpy(out + j * k + p * R, row + j, R * sizeof(T));
    if (full < cols) {
      T* dst = out + full * k + p * R;
      for (int64_t j = 0; j < R; ++j) dst[j] = full + j < cols ? row[full + j] : T(0);
    }
  }
}

// op(A) rows [i0, i0 + rows) into slivers at out (all of k).
template <class Cfg, class T>
[[gnu::always_inline]] inline void pack_a(const Problem<T>& g, int64_t i0, int64_t rows, T* out) {
  constexpr int MR = Cfg::MR;
  if (g.trans_a) {
    pack_copied<MR>(g.a_at(i0, 0), g.lda, rows, g.k, out);
    return;
  }
  for (int64_t i = 0; i < rows; i += MR)
    pack_transposed<MR>(g.a_at(i0 + i, 0), g.lda, std::min<int64_t>(MR, rows - i), g.k, out + i * g.k);
}

// op(B) columns [j0, j0 + cols) into slivers at out (all of k).
template <class Cfg, class T>
[[gnu::always_inline]] inline void pack_b(const Problem<T>& g, int64_t j0, int64_t cols, T* out) {
  constexpr int NR = Cfg::NR;
  if (!g.trans_b) {
    pack_copied<NR>(g.b_at(0, j0), g.ldb, cols, g.k, out);
    return;
  }
  for (int64_t j = 0; j < cols; j += NR)
    pack_transposed<NR>(g.b_at(0, j0 + j), g.ldb, std::min<int64_t>(NR, cols - j), g.k, out + j * g.k);
}

// Packing buffers of the calling thread, kept between calls (OpenMP reuses its threads).
template <class T>
T* scratch(int which, int64_t count) {
  struct Buffer {
    std::unique_ptr<T[], void (*)(T*)> data{nullptr, [](T* p) { ::operator delete[](p, std::align_val_t(64)); }};
    int64_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& buf = buffers[which];
  if (buf.size < count) {
    buf.data.reset();
    buf.data.reset(static_cast<T*>(::operator new[](static_cast<size_t>(count) * sizeof(T), std::align_val_t(64))));
    buf.size = count;
  }
  return buf.data.get();
}

inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// A chunk of the shared operand is sized so that one k panel of it fits in L2 (256 KiB of floats
// leaves room for the rest) and the whole of it (all k) stays under kMaxPack elements.
constexpr int64_t kL2Elements = int64_t(1) << 16, kMaxPack = int64_t(1) << 22;

// Run by every thread of the enclosing OpenMP team (or by the calling thread alone). Its
// worksharing loops are orphaned, so this function can be compiled for a specific instruction set
// while the parallel region lives in the generic caller.
template <class Cfg, class T = typename Cfg::type>
[[gnu::always_inline]] inline void gemm_thread(const Problem<T>& g) {
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  constexpr int64_t KC = Cfg::KC;
  // Equal k panels of about KC (k = 288 runs as one panel rather than 256 + 32: a thin last panel
  // would cost a pass over C for little work).
  const int64_t kc_step = ceil_div(g.k, ceil_div(g.k, KC + KC / 8));
  const int64_t a_slivers = ceil_div(g.m, MR), b_slivers = ceil_div(g.n, NR);
  const bool split_n = b_slivers >= a_slivers;  // tasks own columns (B slivers) or rows (A slivers)
  const int64_t own_slivers = split_n ? b_slivers : a_slivers, shared_slivers = split_n ? a_slivers : b_slivers;
  const int own_r = split_n ? NR : MR, shared_r = split_n ? MR : NR;
  const int threads = omp_get_num_threads();
  const int64_t per_task = std::clamp<int64_t>(ceil_div(own_slivers, 4 * threads), 1, 8);
  const int64_t chunk =
      std::max<int64_t>(1, std::min(kL2Elements / (kc_step * shared_r), kMaxPack / (g.k * shared_r)));
  T* shared = scratch<T>(0, std::min(chunk, shared_slivers) * shared_r * g.k);
  T* own = scratch<T>(1, per_task * own_r * g.k);

  for (int64_t c0 = 0; c0 < shared_slivers; c0 += chunk) {
    const int64_t c1 = std::min(shared_slivers, c0 + chunk);
    // The chunk is packed when this thread takes its first task (a thread that arrives after the
    // others have taken every task skips the work).
    bool packed = false;
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t t = 0; t < ceil_div(own_slivers, per_task); ++t) {
      if (!packed && split_n) pack_a<Cfg>(g, c0 * MR, std::min(g.m, c1 * MR) - c0 * MR, shared);
      if (!packed && !split_n) pack_b<Cfg>(g, c0 * NR, std::min(g.n, c1 * NR) - c0 * NR, shared);
      packed = true;
      const int64_t o0 = t * per_task, o1 = std::min(own_slivers, o0 + per_task);
      // This task's block of C: A slivers [a0, a1) x B slivers [b0, b1), each range packed from
      // the start of its buffer.
      int64_t a0 = c0, a1 = c1, b0 = o0, b1 = o1;
      const T *apack = shared, *bpack = own;
      if (split_n) {
        pack_b<Cfg>(g, o0 * NR, std::min(g.n, o1 * NR) - o0 * NR, own);
      } else {
        pack_a<Cfg>(g, o0 * MR, std::min(g.m, o1 * MR) - o0 * MR, own);
        std::swap(a0, b0);
        std::swap(a1, b1);
        std::swap(apack, bpack);
      }
      for (int64_t pc = 0; pc < g.k; pc += kc_step) {
        const int64_t kc = std::min(kc_step, g.k - pc);
        const T beta = pc == 0 ? g.beta : T(1);
        for (int64_t sa = a0; sa < a1; ++sa)
          for (int64_t sb = b0; sb < b1; ++sb)
            micro_kernel<Cfg>(kc, apack + ((sa - a0) * g.k + pc) * MR, bpack + ((sb - b0) * g.k + pc) * NR, g.alpha,
                              beta, g.c + sa * MR * g.ldc + sb * NR, g.ldc, std::min<int64_t>(MR, g.m - sa * MR),
                              std::min<int64_t>(NR, g.n - sb * NR));
      }
    }
  }
}

// The variants, best first, each compiled for its instruction set: flatten inlines the blocked
// loop nest, micro-kernel included, into the target-specific function. x86-64 gets AVX-512,
// AVX2+FMA and the SSE2 baseline; other machines one generic 16-byte-vector variant.
using F512 = Config<float, 64, 8, 32, 256>;
using D512 = Config<double, 64, 8, 16, 256>;
using F256 = Config<float, 32, 6, 16, 256>;
using D256 = Config<double, 32, 6, 8, 256>;
using F128 = Config<float, 16, 4, 8, 256>;
using D128 = Config<double, 16, 4, 4, 256>;

template <class T>
struct Variant {
  void (*run)(const Problem<T>&);
  const char* isa;
  const char* name;
};

[[gnu::flatten]] void run_base(const Problem<float>& g) { gemm_thread<F128>(g); }
[[gnu::flatten]] void run_base(const Problem<double>& g) { gemm_thread<D128>(g); }

#if defined(__x86_64__)
#define HEMO_AVX512 "avx512f,avx512vl,avx512dq,avx2,fma"
[[gnu::target(HEMO_AVX512), gnu::flatten]] void run_avx512(const Problem<float>& g) { gemm_thread<F512>(g); }
[[gnu::target(HEMO_AVX512), gnu::flatten]] void run_avx512(const Problem<double>& g) { gemm_thread<D512>(g); }
[[gnu::target("avx2,fma"), gnu::flatten]] void run_avx2(const Problem<float>& g) { gemm_thread<F256>(g); }
[[gnu::target("avx2,fma"), gnu::flatten]] void run_avx2(const Problem<double>& g) { gemm_thread<D256>(g); }
#undef HEMO_AVX512

template <class T>
constexpr Variant<T> kVariants[] = {
    {run_avx512, "avx512", std::is_same_v<T, float> ? "avx512 8x32" : "avx512 8x16"},
    {run_avx2, "avx2", std::is_same_v<T, float> ? "avx2 6x16" : "avx2 6x8"},
    {run_base, "sse2", std::is_same_v<T, float> ? "sse2 4x8" : "sse2 4x4"},
};

bool cpu_runs(const std::string& isa) {
  __builtin_cpu_init();
  if (isa == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return isa == "sse2";  // the x86-64 baseline
}
#else
template <class T>
constexpr Variant<T> kVariants[] = {{run_base, "generic", std::is_same_v<T, float> ? "generic 4x8" : "generic 4x4"}};
bool cpu_runs(const std::string& isa) { return isa == "generic"; }
#endif

// The variant in use: HEMO_GEMM_ISA's if set (and runnable), else the best this CPU runs, until
// gemm_select_isa chooses another.
template <class T>
const Variant<T>*& current() {
  static const Variant<T>* chosen = [] {
    const char* forced = std::getenv("HEMO_GEMM_ISA");
    for (const Variant<T>& v : kVariants<T>)
      if (forced && forced == std::string(v.isa) && cpu_runs(v.isa)) return &v;
    for (const Variant<T>& v : kVariants<T>)
      if (cpu_runs(v.isa)) return &v;
    return &std::end(kVariants<T>)[-1];
  }();
  return chosen;
}

// Below about this many multiply-adds per thread (some microseconds of work), waking another
// thread costs more than it saves.
constexpr int64_t kMinMacsPerThread = int64_t(1) << 20;

}  // namespace

template <class T>
void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  const bool trans_a = s.trans_a, trans_b = s.trans_b;
  const int64_t m = s.m, n = s.n, k = s.k, lda = s.lda, ldb = s.ldb, ldc = s.ldc;
  HEMO_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=", m, " n=", n, " k=", k);
  HEMO_CHECK(lda >= std::max<int64_t>(1, trans_a ? m : k) && ldb >= std::max<int64_t>(1, trans_b ? k : n) &&
                 ldc >= std::max<int64_t>(1, n),
             "gemm: leading dimensions lda=", lda, " ldb=", ldb, " ldc=", ldc, " too small for m=", m, " n=", n,
             " k=", k, " (trans_a=", trans_a, ", trans_b=", trans_b, ")");
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == T(0)) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  const int available = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int threads = static_cast<int>(std::clamp<int64_t>(m * n * k / kMinMacsPerThread, 1, available));
  const Problem<T> g{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  void (*run)(const Problem<T>&) = current<T>()->run;
#pragma omp parallel num_threads(threads) if (threads > 1)
  run(g);
}

template <class T> const char* gemm_kernel_name() { return current<T>()->name; }

bool gemm_select_isa(const std::string& isa) {
  if (!cpu_runs(isa)) return false;
  for (size_t i = 0; i < std::size(kVariants<float>); ++i) {
    if (kVariants<float>[i].isa != isa) continue;
    current<float>() = &kVariants<float>[i];
    current<double>() = &kVariants<double>[i];
    return true;
  }
  return false;
}

template void gemm<float>(Backend, const GemmShape&, float, const float*, const float*, float, float*);
template void gemm<double>(Backend, const GemmShape&, double, const double*, const double*, double, double*);
template const char* gemm_kernel_name<float>();
template const char* gemm_kernel_name<double>();

}  // namespace hemo::cpu
