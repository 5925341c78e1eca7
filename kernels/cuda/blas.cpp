#include "kernels/cuda/blas.h"

#include <climits>
#include <type_traits>
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

template <class T>
void gemm(Backend, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  const bool trans_a = s.trans_a, trans_b = s.trans_b;
  const int64_t m = s.m, n = s.n, k = s.k, lda = s.lda, ldb = s.ldb, ldc = s.ldc;
  static_assert(std::is_same_v<T, float>, "the CUDA backend computes in float32");
  if (m == 0 || n == 0) return;
  const int M = as_int(m, "m"), N = as_int(n, "n"), K = as_int(k, "k");
  const int LDA = as_int(lda, "lda"), LDB = as_int(ldb, "ldb"), LDC = as_int(ldc, "ldc");
  if (k == 0) {  // C = beta C, and with beta == 0 its old contents are not read
    if (beta == T(0)) {
      HEMO_CUDA_CHECK(cudaMemset2DAsync(c, static_cast<size_t>(ldc) * sizeof(T), 0, static_cast<size_t>(n) * sizeof(T),
                                        static_cast<size_t>(m), current_stream()));
    } else {
      const T zero = 0;  // in place: C = beta C + 0 C
      HEMO_CUBLAS_CHECK(cublasSgeam(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, &beta, c, LDC, &zero, c, LDC, c,
                                    LDC));
    }
    return;
  }
  // cuBLAS is column-major, and a row-major matrix is its transpose in column-major: computing
  // C^T = op(B)^T op(A)^T column-major writes C row-major.
  const cublasComputeType_t compute = allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  HEMO_CUBLAS_CHECK(cublasGemmEx(cublas_handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 N, M, K, &alpha, b, CUDA_R_32F, LDB, a, CUDA_R_32F, LDA, &beta, c, CUDA_R_32F, LDC,
                                 compute, CUBLAS_GEMM_DEFAULT));
}

template void gemm<float>(Backend, const GemmShape&, float, const float*, const float*, float, float*);

}  // namespace hemo::cuda
