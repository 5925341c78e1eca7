#include "kernels/cuda/blas.h"

#include <climits>
#include <unordered_map>

#include "core/cuda/check.h"
#include "core/cuda/stream.h"
#include "core/error.h"
#include "kernels/gemm.h"

// A failed cuBLAS call throws hemo::Error naming the call, the file, the line and cuBLAS's own
// status name and description (as HEMO_CUDA_CHECK does for the runtime, core/cuda/check.h).
#define HEMO_CUBLAS_CHECK(call) ::hemo::cuda::check_cublas((call), #call, __FILE__, __LINE__)

namespace hemo::cuda {

namespace {
void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(cat("cuBLAS error: ", call, " failed at ", file, ":", line, ": ", cublasGetStatusName(status), " (",
                  cublasGetStatusString(status), ")"));
}

int as_int(int64_t v, const char* what) {
  HEMO_CHECK(v >= 0 && v <= INT_MAX, "gemm: ", what, " = ", v, " is outside cuBLAS's 32-bit range");
  return static_cast<int>(v);
}
}  // namespace


cublasHandle_t cublas_handle() {
  thread_local std::unordered_map<int, cublasHandle_t> handles;
  int device = 0;
  HEMO_CUDA_CHECK(cudaGetDevice(&device));
  cublasHandle_t& h = handles[device];
  if (!h) HEMO_CUBLAS_CHECK(cublasCreate(&h));
  HEMO_CUBLAS_CHECK(cublasSetStream(h, current_stream()));
  HEMO_CUBLAS_CHECK(cublasSetMathMode(h, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return h;
}

namespace {
// C^T = op(B)^T op(A)^T in cuBLAS's column-major terms, which writes C row-major (a row-major
// matrix is its transpose in column-major).
void gemm_ex(const GemmShape& s, float alpha, const void* a, const void* b, cudaDataType_t type, float beta, float* c,
             cublasComputeType_t compute) {
  const int M = as_int(s.m, "m"), N = as_int(s.n, "n"), K = as_int(s.k, "k");
  const int LDA = as_int(s.lda, "lda"), LDB = as_int(s.ldb, "ldb"), LDC = as_int(s.ldc, "ldc");
  HEMO_CUBLAS_CHECK(cublasGemmEx(cublas_handle(), s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, b, type, LDB, a, type, LDA,
                                 &beta, c, CUDA_R_32F, LDC, compute, CUBLAS_GEMM_DEFAULT));
}
}  // namespace

void cublas_gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c) {
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {  // C = beta C, and with beta == 0 its old contents are not read
    const int M = as_int(s.m, "m"), N = as_int(s.n, "n"), LDC = as_int(s.ldc, "ldc");
    if (beta == 0.0f) {
      HEMO_CUDA_CHECK(cudaMemset2DAsync(c, static_cast<size_t>(LDC) * sizeof(float), 0,
                                        static_cast<size_t>(N) * sizeof(float), static_cast<size_t>(M),
                                        current_stream()));
    } else {
      const float zero = 0;  // in place: C = beta C + 0 C
      HEMO_CUBLAS_CHECK(cublasSgeam(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, &beta, c, LDC, &zero, c, LDC, c,
                                    LDC));
    }
    return;
  }
  gemm_ex(s, alpha, a, b, CUDA_R_32F, beta, c, allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F);
}

void cublas_gemm_bf16(const GemmShape& s, float alpha, const bf16* a, const bf16* b, float beta, float* c) {
  HEMO_CHECK(s.k >= 1, "internal: cublas_gemm_bf16 needs k >= 1");
  if (s.m == 0 || s.n == 0) return;
  gemm_ex(s, alpha, a, b, CUDA_R_16BF, beta, c, CUBLAS_COMPUTE_32F);
}

}  // namespace hemo::cuda
