// How the CPU batch-norm kernels (batchnorm.cpp, batchnorm_rows.cpp) are compiled: each entry point
// twice, for AVX2 and for the x86-64 baseline, the loader picking one (GCC's target_clones). Their
// loops are bound by double arithmetic, and a four-double vector is one AVX2 register but two SSE2
// ones (1.8x on a 32x96x64x64 forward, one thread). AVX2 without FMA: the same operations in the
// same order, so either clone gives the same bits. Helpers are forced inline so that each clone
// gets its own copy of their loops; vectors are passed by reference only (a by-value vector wider
// than the baseline's registers would change the calling convention between the clones).
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define HEMO_BN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define HEMO_BN_CLONES
#endif
#define HEMO_BN_INLINE inline __attribute__((always_inline))
