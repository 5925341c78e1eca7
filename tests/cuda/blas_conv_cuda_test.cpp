// cuBLAS GEMM (TF32 off and on) against the float64 CPU GEMM, and the conv2d op cases
// (opcases/conv2d.cpp, depthwise_conv2d.cpp) with TF32 on against the CPU reference.
#include <doctest/doctest.h>

#include "kernels/gemm.h"
#include "opcases/registry.h"
#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA

TEST_CASE("cuBLAS gemm matches the CPU gemm (in float64) for every transpose, TF32 off and on") {
  HEMO_REQUIRE_GPU();
  struct Size {
    int64_t m, n, k;
  };
  uint64_t seed = 4000;
  for (const Size& z : {Size{1, 1, 1}, Size{7, 13, 5}, Size{33, 17, 300}, Size{64, 500, 1280}, Size{5, 3, 0}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (bool tf32 : {false, true}) {
        for (double beta : {0.0, 0.5}) {
          CAPTURE(z.m);
          CAPTURE(z.n);
          CAPTURE(z.k);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(tf32);
          CAPTURE(beta);
          MathGuard guard(tf32, false);
          const int64_t lda = std::max<int64_t>(ta ? z.m : z.k, 1), ldb = std::max<int64_t>(tb ? z.k : z.n, 1);
          Tensor a = rand_f32(ta ? Shape{z.k, z.m} : Shape{z.m, z.k}, ++seed);
          Tensor b = rand_f32(tb ? Shape{z.n, z.k} : Shape{z.k, z.n}, ++seed);
          Tensor c = rand_f32({z.m, z.n}, ++seed);
          Tensor ag = on_gpu(a), bg = on_gpu(b);
          Tensor cg = beta == 0 ? Tensor::empty({z.m, z.n}, DType::f32, gpu()) : on_gpu(c);  // poisoned when beta 0
          cuda::gemm<float>(
              cuda::backend,
              {.trans_a = ta, .trans_b = tb, .m = z.m, .n = z.n, .k = z.k, .lda = lda, .ldb = ldb, .ldc = z.n}, 1.25f,
              ag.data<float>(), bg.data<float>(), static_cast<float>(beta), cg.data<float>());
          Tensor ref = c.to(DType::f64).clone(), a64 = a.to(DType::f64), b64 = b.to(DType::f64);
          cpu::gemm<double>(
              cpu::backend,
              {.trans_a = ta, .trans_b = tb, .m = z.m, .n = z.n, .k = z.k, .lda = lda, .ldb = ldb, .ldc = z.n}, 1.25,
              a64.data<double>(), b64.data<double>(), beta, ref.data<double>());
          // TF32 keeps 10 mantissa bits per operand: errors near 5e-4 of the result's scale, a few
          // times that at the worst element; float32 stays far below 1e-5.
          HEMO_CHECK_CLOSE(cg, ref, tf32 ? 1e-2 : 1e-5, "gemm");
        }
      }
    }
  }
}

// The conv2d and depthwise_conv2d op cases run in tests/cuda/opcases_cuda_test.cpp; here again with
// TF32 on (about 10 mantissa bits per product; hemo's depthwise kernels do not use it), where cuDNN
// must still agree with the CPU.
TEST_CASE("cuda conv2d with TF32 on matches the CPU reference within TF32's rounding") {
  HEMO_REQUIRE_GPU();
  MathGuard guard(true, false);
  size_t ran = 0;
  for (const opcases::OpCase* c : opcases::cases_of("conv2d")) {
    for (const opcases::Shapes& shapes : c->samples) {
      CAPTURE(c->name);
      CAPTURE(shape_str(shapes[0]));
      std::vector<Tensor> in = opcases::make_inputs(*c, shapes, DType::f32, Device::cpu(), false);
      check_op(c->name + " (TF32)", in, c->forward, 1e-2, 1e-2, ++ran);
    }
  }
  CHECK(ran > 10);
  CHECK(cuda::cudnn_cached_algorithms() >= 3);
}

#endif  // HEMO_WITH_CUDA
