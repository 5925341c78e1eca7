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
//
// bfloat16 products (set_gemm_bf16): the packing rounds each element to bf16. The AMX variant
// packs bf16 values in the tile unit's layouts (AmxBf16 below) and keeps a 32 x 32 block of C in
// four 16 x 16 float tiles; the other variants store the rounded values as floats and run their
// float micro-kernel. Both run under the same blocked loop nest (gemm_thread), which sees a
// variant only through its Config: the packed element type, the k granularity of the packing
// (1, or 32 for AMX: one tile row of bf16 pairs), the packing and micro-kernel functions.
#include "kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "core/bf16.h"
#include "core/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hemo::cpu {
namespace {

inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

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

// One micro-kernel shape and the cache blocking that suits it. VB: vector width in bytes. With
// RoundBf16, the packed operands are rounded to bfloat16 values (stored as T = float).
template <class T, int VB, int MR_, int NR_, int64_t KC_, bool RoundBf16 = false>
struct Config {
  using type = T;
  using packed = T;  // what the packed slivers hold
  static constexpr int vec_bytes = VB, MR = MR_, NR = NR_;
  static constexpr int64_t KC = KC_;
  static constexpr int64_t k_align = 1;  // packed slivers cover k rounded up to this
  static constexpr bool round_bf16 = RoundBf16;
  static_assert(NR * sizeof(T) % VB == 0);
  static_assert(!RoundBf16 || sizeof(T) == 4);
  static constexpr bool amx = false;
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

// Rounds count packed floats to their nearest bfloat16 values (core/bf16.h), in place.
[[gnu::always_inline]] inline void round_to_bf16(float* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] = bf16_to_float(bf16_from_float(x[i]));
}

// op(A) rows [i0, i0 + rows) into slivers at out (all of k).
template <class Cfg, class T>
[[gnu::always_inline]] inline void pack_a(const Problem<T>& g, int64_t i0, int64_t rows, T* out) {
  constexpr int MR = Cfg::MR;
  if (g.trans_a) {
    pack_copied<MR>(g.a_at(i0, 0), g.lda, rows, g.k, out);
  } else {
    for (int64_t i = 0; i < rows; i += MR)
      pack_transposed<MR>(g.a_at(i0 + i, 0), g.lda, std::min<int64_t>(MR, rows - i), g.k, out + i * g.k);
  }
  if constexpr (Cfg::round_bf16) round_to_bf16(out, ceil_div(rows, MR) * MR * g.k);
}

// op(B) columns [j0, j0 + cols) into slivers at out (all of k).
template <class Cfg, class T>
[[gnu::always_inline]] inline void pack_b(const Problem<T>& g, int64_t j0, int64_t cols, T* out) {
  constexpr int NR = Cfg::NR;
  if (!g.trans_b) {
    pack_copied<NR>(g.b_at(0, j0), g.ldb, cols, g.k, out);
  } else {
    for (int64_t j = 0; j < cols; j += NR)
      pack_transposed<NR>(g.b_at(0, j0 + j), g.ldb, std::min<int64_t>(NR, cols - j), g.k, out + j * g.k);
  }
  if constexpr (Cfg::round_bf16) round_to_bf16(out, ceil_div(cols, NR) * NR * g.k);
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

// Intel AMX, bf16 products: four 16 x 16 float accumulator tiles hold a 32 x 32 block of C
// (MR = NR = 32); each step of 32 k values loads two A tiles (16 rows x 32 bf16) and two B tiles
// (16 k pairs x 16 columns x 2 bf16) and runs TDPBF16PS four times:
//   C[i][j] += A[i][2t] B[t][2j] + A[i][2t + 1] B[t][2j + 1]      t < 16 (pairs of k)
// Packed layouts, per sliver and per block of 32 k values (1024 bf16, zero past k and the edge):
//   A sliver: row r's 32 k values at r * 32 (rows 0-15 are one tile, rows 16-31 the next);
//   B sliver: the pair (B(2t, j), B(2t + 1, j)) at t * 64 + 2 j (a tile reads columns 0-15 or
//   16-31 of each 128-byte row).
// The tile instructions are written as inline assembly with a "memory" clobber (GCC's own tile
// macros tell the compiler nothing of the memory they read), so the code around them stays
// portable C++ that the flattened AMX variant compiles for AVX-512.
struct AmxBf16 {
  using type = float;
  using packed = uint16_t;
  static constexpr int MR = 32, NR = 32;
  static constexpr int64_t KC = 512, k_align = 32;
  static constexpr bool amx = true;
};

#if defined(__x86_64__)
[[gnu::always_inline]] inline void amx_configure_tiles() {
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};  // tiles 0-7: 16 rows of 64 bytes
    uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
  } config;
  asm volatile("ldtilecfg %0" ::"m"(config) : "memory");
}
[[gnu::always_inline]] inline void amx_release_tiles() { asm volatile("tilerelease" ::: "memory"); }
#define HEMO_TILE_ZERO(t) asm volatile("tilezero %%tmm" #t ::: "memory")
#define HEMO_TILE_LOAD(t, base, stride) \
  asm volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"(static_cast<int64_t>(stride)) : "memory")
#define HEMO_TILE_STORE(t, base, stride) \
  asm volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(base), "r"(static_cast<int64_t>(stride)) : "memory")
#define HEMO_TILE_DPBF16(c, a, b) asm volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::: "memory")

[[gnu::always_inline]] inline void amx_micro_kernel(int64_t kc, const uint16_t* a, const uint16_t* b, float alpha,
                                                    float beta, float* c, int64_t ldc, int64_t mr, int64_t nr) {
  HEMO_TILE_ZERO(0);
  HEMO_TILE_ZERO(1);
  HEMO_TILE_ZERO(2);
  HEMO_TILE_ZERO(3);
  for (int64_t p = 0; p < kc; p += 32, a += 1024, b += 1024) {
    HEMO_TILE_LOAD(4, a, 64);
    HEMO_TILE_LOAD(5, a + 512, 64);
    HEMO_TILE_LOAD(6, b, 128);
    HEMO_TILE_LOAD(7, b + 32, 128);
    HEMO_TILE_DPBF16(0, 4, 6);
    HEMO_TILE_DPBF16(1, 4, 7);
    HEMO_TILE_DPBF16(2, 5, 6);
    HEMO_TILE_DPBF16(3, 5, 7);
  }
  alignas(64) float tile[32 * 32];
  HEMO_TILE_STORE(0, tile, 128);
  HEMO_TILE_STORE(1, tile + 16, 128);
  HEMO_TILE_STORE(2, tile + 512, 128);
  HEMO_TILE_STORE(3, tile + 528, 128);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float* ti = tile + i * 32;
    if (beta == 0.f)
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j];
    else
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j] + beta * ci[j];
  }
}
#undef HEMO_TILE_ZERO
#undef HEMO_TILE_LOAD
#undef HEMO_TILE_STORE
#undef HEMO_TILE_DPBF16
#else
inline void amx_configure_tiles() {}
inline void amx_release_tiles() {}
inline void amx_micro_kernel(int64_t, const uint16_t*, const uint16_t*, float, float, float*, int64_t, int64_t,
                             int64_t) {}
#endif

#if defined(__x86_64__)
// The AMX variant's instruction sets: its packing converts with AVX-512 BF16 (VCVTNE2PS2BF16:
// nearest even, as core/bf16.h, except that denormal floats become zero, which TDPBF16PS would
// do to them anyway).
#define HEMO_AMX_TARGET "avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,avx2,fma"

// 32 floats from src (the first n < 32 of them when n is smaller, zeros after) as 32 bf16 values.
[[gnu::target(HEMO_AMX_TARGET)]] inline __m512i bf16x32(const float* src, int64_t n) {
  const __mmask16 lo = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 hi = n >= 32 ? 0xffff : n <= 16 ? 0 : static_cast<__mmask16>((1u << (n - 16)) - 1);
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + 16),
                                                       _mm512_maskz_loadu_ps(lo, src)));
}

// Two k steps' values of 16 rows (or columns), from src(p) and src(p + 1) (the first n < 16
// of them when n is smaller; a step at or past k reads as zeros), as 16 32-bit words: word i is
// the bf16 pair (step p's value i, step p + 1's value i), the pairing TDPBF16PS multiplies.
template <class Src>
[[gnu::target(HEMO_AMX_TARGET)]] inline __m512i bf16_pairs(int64_t k, int64_t p, Src src, int64_t n) {
  // _mm512_cvtne2ps_pbh puts step p's 16 values in the low half and step p + 1's in the high half.
  alignas(64) static constexpr uint16_t kInterleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                          21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                          11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __mmask16 mask = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
  const __m512 even = p < k ? _mm512_maskz_loadu_ps(mask, src(p)) : __m512{};
  const __m512 odd = p + 1 < k ? _mm512_maskz_loadu_ps(mask, src(p + 1)) : __m512{};
  const __m512i both = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(odd, even));
  return _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), both);
}

// In place: r[i] (16 rows of 16 32-bit words) becomes its transpose. Within each 128-bit lane,
// two unpack stages gather 4 x 4 blocks; two lane shuffles then put the blocks in place. (GCC 12
// warns that the intrinsics' own _mm512_undefined pass-through "may be used uninitialized".)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
[[gnu::target(HEMO_AMX_TARGET)]] inline void transpose_16x16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int g = 0; g < 16; g += 4) {  // u[g + x], lane L: column 4 L + x of rows g .. g + 3
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  for (int x = 0; x < 4; ++x) {
    const __m512i v1 = _mm512_shuffle_i32x4(u[x], u[4 + x], 0x88), v2 = _mm512_shuffle_i32x4(u[x], u[4 + x], 0xdd);
    const __m512i w1 = _mm512_shuffle_i32x4(u[8 + x], u[12 + x], 0x88);
    const __m512i w2 = _mm512_shuffle_i32x4(u[8 + x], u[12 + x], 0xdd);
    r[x] = _mm512_shuffle_i32x4(v1, w1, 0x88);
    r[4 + x] = _mm512_shuffle_i32x4(v2, w2, 0x88);
    r[8 + x] = _mm512_shuffle_i32x4(v1, w1, 0xdd);
    r[12 + x] = _mm512_shuffle_i32x4(v2, w2, 0xdd);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// op(A) rows [i0, i0 + rows) into AMX A slivers at out (all of k, padded to kp = k rounded up to 32).
[[gnu::target(HEMO_AMX_TARGET)]] inline void pack_a_amx(const Problem<float>& g, int64_t i0, int64_t rows,
                                                        uint16_t* out) {
  const int64_t kp = ceil_div(g.k, 32) * 32;
  for (int64_t s = 0; s < rows; s += 32, out += 32 * kp) {
    const int64_t valid = std::min<int64_t>(32, rows - s);
    if (!g.trans_a) {  // row i's k values are contiguous: 32 of them make one 64-byte tile row
      for (int64_t r = 0; r < 32; ++r) {
        const float* src = r < valid ? g.a_at(i0 + s + r, 0) : nullptr;
        for (int64_t p0 = 0; p0 < kp; p0 += 32)
          _mm512_storeu_si512(out + p0 * 32 + r * 32, src ? bf16x32(src + p0, g.k - p0) : _mm512_setzero_si512());
      }
    } else {  // k step p's values of the rows are contiguous: paired, then transposed, 16 rows at a time
      for (int64_t h = 0; h < 32; h += 16)
        for (int64_t p0 = 0; p0 < kp; p0 += 32) {
          __m512i w[16];  // w[u], word r: the pair of steps p0 + 2u, p0 + 2u + 1 of row h + r
          for (int64_t u = 0; u < 16; ++u)
            w[u] = bf16_pairs(g.k, p0 + 2 * u, [&](int64_t p) { return g.a_at(i0 + s + h, p); }, valid - h);
          transpose_16x16(w);  // w[r]: row h + r's 32 steps
          for (int64_t r = 0; r < 16; ++r) _mm512_storeu_si512(out + p0 * 32 + (h + r) * 32, w[r]);
        }
    }
  }
}

// op(B) columns [j0, j0 + cols) into AMX B slivers at out (all of k, padded to a multiple of 32).
[[gnu::target(HEMO_AMX_TARGET)]] inline void pack_b_amx(const Problem<float>& g, int64_t j0, int64_t cols,
                                                        uint16_t* out) {
  const int64_t kp = ceil_div(g.k, 32) * 32;
  if (!g.trans_b) {
    // k step p's column values are contiguous: rows 2t and 2t + 1, interleaved, make row t of a
    // tile. Each pair of source rows is read once, in order, across all the slivers (a sliver's
    // 128-byte pieces of rows a whole row apart would defeat the prefetcher when n is large).
    for (int64_t t = 0; t < kp / 2; ++t)
      for (int64_t s = 0; s < cols; s += 16)
        _mm512_storeu_si512(out + (s / 32) * 32 * kp + t * 64 + 2 * (s % 32),
                            bf16_pairs(g.k, 2 * t, [&](int64_t p) { return g.b_at(p, j0 + s); }, cols - s));
    if (cols % 32 != 0 && cols % 32 <= 16)  // the last sliver's columns 16-31 hold zeros
      for (int64_t t = 0; t < kp / 2; ++t)
        _mm512_storeu_si512(out + (cols / 32) * 32 * kp + t * 64 + 32, _mm512_setzero_si512());
    return;
  }
  // Column j's k values are contiguous: each pair of them is one 32-bit word of row t of a tile.
  // Sixteen columns' 16 words (32 k values) at a time are transposed in registers, so that each
  // store writes 16 columns' words of one row.
  auto* words = reinterpret_cast<uint32_t*>(out);  // sliver s, word (t, j) at s * 16 kp + t * 32 + j
  for (int64_t s = 0; s < cols; s += 16)
    for (int64_t p0 = 0; p0 < kp; p0 += 32) {
      __m512i w[16];
      for (int64_t j = 0; j < 16; ++j)
        w[j] = s + j < cols ? bf16x32(g.b_at(p0, j0 + s + j), g.k - p0) : _mm512_setzero_si512();
      transpose_16x16(w);
      uint32_t* dst = words + (s / 32) * 16 * kp + (p0 / 2) * 32 + s % 32;
      for (int64_t t = 0; t < 16; ++t) _mm512_storeu_si512(dst + t * 32, w[t]);
    }
  if (cols % 32 != 0 && cols % 32 <= 16)  // the last sliver's columns 16-31 hold zeros
    for (int64_t t = 0; t < kp / 2; ++t)
      _mm512_storeu_si512(words + (cols / 32) * 16 * kp + t * 32 + 16, _mm512_setzero_si512());
}
#else
inline void pack_a_amx(const Problem<float>&, int64_t, int64_t, uint16_t*) {}
inline void pack_b_amx(const Problem<float>&, int64_t, int64_t, uint16_t*) {}
#endif

// A chunk of the shared operand is sized so that one k panel of it fits in L2 (256 KiB of floats
// leaves room for the rest) and the whole of it (all k) stays under kMaxPack elements.
constexpr int64_t kL2Elements = int64_t(1) << 16, kMaxPack = int64_t(1) << 22;

// Run by every thread of the enclosing OpenMP team (or by the calling thread alone). Its
// worksharing loops are orphaned, so this function can be compiled for a specific instruction set
// while the parallel region lives in the generic caller.
template <class Cfg, class T = typename Cfg::type>
[[gnu::always_inline]] inline void gemm_thread(const Problem<T>& g) {
  using P = typename Cfg::packed;
  constexpr int MR = Cfg::MR, NR = Cfg::NR;
  constexpr int64_t KC = Cfg::KC, KA = Cfg::k_align;
  // Equal k panels of about KC (k = 288 runs as one panel rather than 256 + 32: a thin last panel
  // would cost a pass over C for little work), in whole units of the packing's k granularity.
  const int64_t kc_step = ceil_div(ceil_div(g.k, ceil_div(g.k, KC + KC / 8)), KA) * KA;
  const int64_t kp = ceil_div(g.k, KA) * KA;  // k as packed: a sliver holds kp x MR (or NR) values
  const int64_t a_slivers = ceil_div(g.m, MR), b_slivers = ceil_div(g.n, NR);
  const bool split_n = b_slivers >= a_slivers;  // tasks own columns (B slivers) or rows (A slivers)
  const int64_t own_slivers = split_n ? b_slivers : a_slivers, shared_slivers = split_n ? a_slivers : b_slivers;
  const int own_r = split_n ? NR : MR, shared_r = split_n ? MR : NR;
  const int threads = omp_get_num_threads();
  const int64_t per_task = std::clamp<int64_t>(ceil_div(own_slivers, 4 * threads), 1, 8);
  const int64_t chunk =
      std::max<int64_t>(1, std::min(kL2Elements / (kc_step * shared_r), kMaxPack / (kp * shared_r)));
  P* shared = scratch<P>(0, std::min(chunk, shared_slivers) * shared_r * kp);
  P* own = scratch<P>(1, per_task * own_r * kp);
  const auto pack_rows = [&g](int64_t i0, int64_t rows, P* out) {
    if constexpr (Cfg::amx) pack_a_amx(g, i0, rows, out);
    else pack_a<Cfg>(g, i0, rows, out);
  };
  const auto pack_cols = [&g](int64_t j0, int64_t cols, P* out) {
    if constexpr (Cfg::amx) pack_b_amx(g, j0, cols, out);
    else pack_b<Cfg>(g, j0, cols, out);
  };
  if constexpr (Cfg::amx) amx_configure_tiles();

  for (int64_t c0 = 0; c0 < shared_slivers; c0 += chunk) {
    const int64_t c1 = std::min(shared_slivers, c0 + chunk);
    // The chunk is packed when this thread takes its first task (a thread that arrives after the
    // others have taken every task skips the work).
    bool packed = false;
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t t = 0; t < ceil_div(own_slivers, per_task); ++t) {
      if (!packed && split_n) pack_rows(c0 * MR, std::min(g.m, c1 * MR) - c0 * MR, shared);
      if (!packed && !split_n) pack_cols(c0 * NR, std::min(g.n, c1 * NR) - c0 * NR, shared);
      packed = true;
      const int64_t o0 = t * per_task, o1 = std::min(own_slivers, o0 + per_task);
      // This task's block of C: A slivers [a0, a1) x B slivers [b0, b1), each range packed from
      // the start of its buffer.
      int64_t a0 = c0, a1 = c1, b0 = o0, b1 = o1;
      const P *apack = shared, *bpack = own;
      if (split_n) {
        pack_cols(o0 * NR, std::min(g.n, o1 * NR) - o0 * NR, own);
      } else {
        pack_rows(o0 * MR, std::min(g.m, o1 * MR) - o0 * MR, own);
        std::swap(a0, b0);
        std::swap(a1, b1);
        std::swap(apack, bpack);
      }
      for (int64_t pc = 0; pc < g.k; pc += kc_step) {
        const int64_t kc = std::min(kc_step, g.k - pc);
        const T beta = pc == 0 ? g.beta : T(1);
        for (int64_t sa = a0; sa < a1; ++sa)
          for (int64_t sb = b0; sb < b1; ++sb) {
            const P *ap = apack + ((sa - a0) * kp + pc) * MR, *bp = bpack + ((sb - b0) * kp + pc) * NR;
            T* cp = g.c + sa * MR * g.ldc + sb * NR;
            const int64_t mr = std::min<int64_t>(MR, g.m - sa * MR), nr = std::min<int64_t>(NR, g.n - sb * NR);
            if constexpr (Cfg::amx) amx_micro_kernel(kc, ap, bp, g.alpha, beta, cp, g.ldc, mr, nr);
            else micro_kernel<Cfg>(kc, ap, bp, g.alpha, beta, cp, g.ldc, mr, nr);
          }
      }
    }
  }
  if constexpr (Cfg::amx) amx_release_tiles();
}

// The variants, best first, each compiled for its instruction set: flatten inlines the blocked
// loop nest, micro-kernel included, into the target-specific function. x86-64 gets AVX-512,
// AVX2+FMA and the SSE2 baseline, and for bf16 products AMX before them; other machines one
// generic 16-byte-vector variant.
using F512 = Config<float, 64, 8, 32, 256>;
using D512 = Config<double, 64, 8, 16, 256>;
using F256 = Config<float, 32, 6, 16, 256>;
using D256 = Config<double, 32, 6, 8, 256>;
using F128 = Config<float, 16, 4, 8, 256>;
using D128 = Config<double, 16, 4, 4, 256>;
using F512R = Config<float, 64, 8, 32, 256, true>;
using F256R = Config<float, 32, 6, 16, 256, true>;
using F128R = Config<float, 16, 4, 8, 256, true>;

template <class T>
struct Variant {
  void (*run)(const Problem<T>&);
  const char* isa;
  const char* name;
};

[[gnu::flatten]] void run_base(const Problem<float>& g) { gemm_thread<F128>(g); }
[[gnu::flatten]] void run_base(const Problem<double>& g) { gemm_thread<D128>(g); }
[[gnu::flatten]] void run_base_bf16(const Problem<float>& g) { gemm_thread<F128R>(g); }

#if defined(__x86_64__)
#define HEMO_AVX512 "avx512f,avx512vl,avx512dq,avx2,fma"
[[gnu::target(HEMO_AVX512), gnu::flatten]] void run_avx512(const Problem<float>& g) { gemm_thread<F512>(g); }
[[gnu::target(HEMO_AVX512), gnu::flatten]] void run_avx512(const Problem<double>& g) { gemm_thread<D512>(g); }
[[gnu::target(HEMO_AVX512), gnu::flatten]] void run_avx512_bf16(const Problem<float>& g) { gemm_thread<F512R>(g); }
[[gnu::target(HEMO_AMX_TARGET), gnu::flatten]] void run_amx(const Problem<float>& g) {
  gemm_thread<AmxBf16>(g);
}
[[gnu::target("avx2,fma"), gnu::flatten]] void run_avx2(const Problem<float>& g) { gemm_thread<F256>(g); }
[[gnu::target("avx2,fma"), gnu::flatten]] void run_avx2(const Problem<double>& g) { gemm_thread<D256>(g); }
[[gnu::target("avx2,fma"), gnu::flatten]] void run_avx2_bf16(const Problem<float>& g) { gemm_thread<F256R>(g); }
#undef HEMO_AVX512
#undef HEMO_AMX_TARGET

template <class T>
constexpr Variant<T> kVariants[] = {
    {run_avx512, "avx512", std::is_same_v<T, float> ? "avx512 8x32" : "avx512 8x16"},
    {run_avx2, "avx2", std::is_same_v<T, float> ? "avx2 6x16" : "avx2 6x8"},
    {run_base, "sse2", std::is_same_v<T, float> ? "sse2 4x8" : "sse2 4x4"},
};
constexpr Variant<float> kBf16Variants[] = {
    {run_amx, "amx", "amx bf16 32x32"},
    {run_avx512_bf16, "avx512", "avx512 8x32 on bf16-rounded floats"},
    {run_avx2_bf16, "avx2", "avx2 6x16 on bf16-rounded floats"},
    {run_base_bf16, "sse2", "sse2 4x8 on bf16-rounded floats"},
};

// AMX needs the CPU's AMX-TILE and AMX-BF16 (CPUID leaf 7: EDX bits 24 and 22) and, on Linux,
// the kernel's permission to use the tile data state, asked once per process.
bool amx_usable() {
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    if (!(edx & (1u << 24)) || !(edx & (1u << 22))) return false;
#if defined(__linux__)
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
  }();
  return usable;
}

bool cpu_runs(const std::string& isa) {
  __builtin_cpu_init();
  if (isa == "amx")
    return cpu_runs("avx512") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16") &&
           amx_usable();
  if (isa == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return isa == "sse2";  // the x86-64 baseline
}
#else
template <class T>
constexpr Variant<T> kVariants[] = {{run_base, "generic", std::is_same_v<T, float> ? "generic 4x8" : "generic 4x4"}};
constexpr Variant<float> kBf16Variants[] = {{run_base_bf16, "generic", "generic 4x8 on bf16-rounded floats"}};
bool cpu_runs(const std::string& isa) { return isa == "generic"; }
#endif

// The variant in use from a table: HEMO_GEMM_ISA's if set (and runnable), else the best this CPU
// runs, until gemm_select_isa chooses another.
template <class T, size_t N>
const Variant<T>* initial_choice(const Variant<T> (&table)[N]) {
  const char* forced = std::getenv("HEMO_GEMM_ISA");
  for (const Variant<T>& v : table)
    if (forced && forced == std::string(v.isa) && cpu_runs(v.isa)) return &v;
  for (const Variant<T>& v : table)
    if (cpu_runs(v.isa)) return &v;
  return &table[N - 1];
}
template <class T>
const Variant<T>*& current() {
  static const Variant<T>* chosen = initial_choice(kVariants<T>);
  return chosen;
}
const Variant<float>*& current_bf16() {
  static const Variant<float>* chosen = initial_choice(kBf16Variants);
  return chosen;
}

std::atomic<bool> g_bf16{false};

// Below about this many multiply-adds per thread (some microseconds of work), waking another
// thread costs more than it saves.
constexpr int64_t kMinMacsPerThread = int64_t(1) << 20;

}  // namespace

void set_gemm_bf16(bool on) { g_bf16.store(on); }
bool gemm_bf16() { return g_bf16.load(); }

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
  if constexpr (std::is_same_v<T, float>)
    if (g_bf16.load(std::memory_order_relaxed)) run = current_bf16()->run;
#pragma omp parallel num_threads(threads) if (threads > 1)
  run(g);
}

template <class T> const char* gemm_kernel_name() {
  if constexpr (std::is_same_v<T, float>)
    if (g_bf16.load()) return current_bf16()->name;
  return current<T>()->name;
}

bool gemm_select_isa(const std::string& isa) {
  if (!cpu_runs(isa)) return false;
  bool found = false;
  for (size_t i = 0; i < std::size(kVariants<float>); ++i) {
    if (kVariants<float>[i].isa != isa) continue;
    current<float>() = &kVariants<float>[i];
    current<double>() = &kVariants<double>[i];
    found = true;
  }
  for (const Variant<float>& v : kBf16Variants)
    if (v.isa == isa) {
      current_bf16() = &v;
      found = true;
    }
  return found;
}

template void gemm<float>(Backend, const GemmShape&, float, const float*, const float*, float, float*);
template void gemm<double>(Backend, const GemmShape&, double, const double*, const double*, double, double*);
template const char* gemm_kernel_name<float>();
template const char* gemm_kernel_name<double>();

}  // namespace hemo::cpu
