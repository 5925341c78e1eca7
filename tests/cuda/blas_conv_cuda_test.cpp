// cuBLAS GEMM and cuDNN convolutions against plain float64 loops written here (the CPU conv2d and
// GEMM references of kernels/ replace these loops once they land), TF32 off and on.
#include <doctest/doctest.h>

#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include "kernels/cuda/blas.h"
#include "kernels/cuda/conv_cudnn.h"
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA

namespace {
// Restores the TF32 switch at scope exit.
struct Tf32Guard {
  bool saved = cuda::allow_tf32();
  explicit Tf32Guard(bool on) { cuda::set_allow_tf32(on); }
  ~Tf32Guard() { cuda::set_allow_tf32(saved); }
};

// Row-major reference: C = alpha op(A) op(B) + beta C, in double.
Tensor gemm_reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const Tensor& a,
                      const Tensor& b, double beta, const Tensor& c) {
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
  std::vector<double> out(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l) {
        const double x = ta ? av[static_cast<size_t>(l * m + i)] : av[static_cast<size_t>(i * k + l)];
        const double y = tb ? bv[static_cast<size_t>(j * k + l)] : bv[static_cast<size_t>(l * n + j)];
        s += x * y;
      }
      out[static_cast<size_t>(i * n + j)] = alpha * s + beta * cv[static_cast<size_t>(i * n + j)];
    }
  return Tensor::from_vector(out, {m, n});
}
}  // namespace

TEST_CASE("cuBLAS gemm matches a float64 reference for every transpose, TF32 off and on") {
  HEMO_REQUIRE_GPU();
  struct Size {
    int64_t m, n, k;
  };
  uint64_t seed = 4000;
  for (const Size& z : {Size{1, 1, 1}, Size{7, 13, 5}, Size{33, 17, 300}, Size{64, 500, 1280}}) {
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
          Tf32Guard guard(tf32);
          Tensor a = rand_f32(ta ? Shape{z.k, z.m} : Shape{z.m, z.k}, ++seed);
          Tensor b = rand_f32(tb ? Shape{z.n, z.k} : Shape{z.k, z.n}, ++seed);
          Tensor c = rand_f32({z.m, z.n}, ++seed);
          Tensor ag = on_gpu(a), bg = on_gpu(b), cg = beta == 0 ? Tensor::empty({z.m, z.n}, DType::f32, gpu())
                                                                 : on_gpu(c);
          cuda::gemm(ta, tb, z.m, z.n, z.k, 1.25f, ag.data<float>(), ta ? z.m : z.k, bg.data<float>(),
                     tb ? z.k : z.n, static_cast<float>(beta), cg.data<float>(), z.n);
          Tensor ref = gemm_reference(ta, tb, z.m, z.n, z.k, 1.25, a, b, beta, c);
          // TF32 keeps 10 mantissa bits per operand: errors near 5e-4 of the result's scale, a few
          // times that at the worst element; float32 stays far below 1e-5.
          HEMO_CHECK_CLOSE(cg, ref, tf32 ? 1e-2 : 1e-5, "gemm");
        }
      }
    }
  }
}

namespace {
int64_t at4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t B, int64_t C, int64_t D) {
  return ((a * B + b) * C + c) * D + d;
}

// y[n, k, p, q] = sum_{c in k's group, r, s} x[n, c, p stride - pad + r dil, ...] w[k, c', r, s], and
// the two gradients of sum(y * gy), all in double.
struct ConvReference {
  std::vector<double> y, gx, gw;
};
ConvReference conv_reference(const cuda::ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& gy) {
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), gv = gy.to_vector<double>();
  const int64_t P = g.p(), Q = g.q(), cg = g.c / g.groups, kg = g.k / g.groups;
  ConvReference out{std::vector<double>(static_cast<size_t>(g.n * g.k * P * Q), 0.0),
                    std::vector<double>(xv.size(), 0.0), std::vector<double>(wv.size(), 0.0)};
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t k = 0; k < g.k; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const size_t yi = static_cast<size_t>(at4(n, k, p, q, g.k, P, Q));
          double s = 0;
          for (int64_t cc = 0; cc < cg; ++cc) {
            const int64_t c = (k / kg) * cg + cc;
            for (int64_t r = 0; r < g.r; ++r)
              for (int64_t t = 0; t < g.s; ++t) {
                const int64_t ih = p * g.stride_h - g.pad_h + r * g.dil_h, iw = q * g.stride_w - g.pad_w + t * g.dil_w;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                const size_t xi = static_cast<size_t>(at4(n, c, ih, iw, g.c, g.h, g.w));
                const size_t wi = static_cast<size_t>(at4(k, cc, r, t, cg, g.r, g.s));
                s += xv[xi] * wv[wi];
                out.gx[xi] += gv[yi] * wv[wi];
                out.gw[wi] += gv[yi] * xv[xi];
              }
          }
          out.y[yi] = s;
        }
  return out;
}
}  // namespace

TEST_CASE("cuDNN convolution forward, backward-data and backward-filter match a float64 reference") {
  HEMO_REQUIRE_GPU();
  if (!cuda::cudnn_available()) {
    FAIL("this hemo was built without cuDNN: dense convolutions cannot run on the GPU");
    return;
  }
  // {n, c, h, w, k, r, s, stride h/w, pad h/w, dil h/w, groups}
  const cuda::ConvGeometry cases[] = {
      {3, 5, 7, 13, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // odd everything, same padding
      {2, 3, 33, 31, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1},  // a ResNet stem, small
      {3, 8, 9, 9, 12, 1, 1, 1, 1, 0, 0, 1, 1, 1},    // pointwise (MobileNet's 1x1)
      {2, 6, 11, 10, 9, 3, 3, 2, 1, 1, 0, 1, 1, 3},   // grouped, stride 2x1
      {1, 4, 12, 12, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1},   // dilated
      {4, 32, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1}, // a typical downsampling block
  };
  uint64_t seed = 6000;
  for (bool tf32 : {false, true}) {
    Tf32Guard guard(tf32);
    for (const cuda::ConvGeometry& g : cases) {
      CAPTURE(g.c);
      CAPTURE(g.k);
      CAPTURE(g.r);
      CAPTURE(g.groups);
      CAPTURE(tf32);
      const Shape xs{g.n, g.c, g.h, g.w}, ws{g.k, g.c / g.groups, g.r, g.s}, ys{g.n, g.k, g.p(), g.q()};
      Tensor x = rand_f32(xs, ++seed), w = rand_f32(ws, ++seed), gy = rand_f32(ys, ++seed);
      const ConvReference ref = conv_reference(g, x, w, gy);
      Tensor xg = on_gpu(x), wg = on_gpu(w), gyg = on_gpu(gy);
      Tensor y = Tensor::empty(ys, DType::f32, gpu()), gx = Tensor::empty(xs, DType::f32, gpu()),
             gw = Tensor::empty(ws, DType::f32, gpu());
      cuda::cudnn_conv_fwd(g, xg.data<float>(), wg.data<float>(), y.data<float>());
      cuda::cudnn_conv_bwd_data(g, wg.data<float>(), gyg.data<float>(), gx.data<float>());
      cuda::cudnn_conv_bwd_filter(g, xg.data<float>(), gyg.data<float>(), gw.data<float>());
      // Winograd and FFT algorithms round more than a direct sum (still near 1e-5 of the scale in
      // float32); a wrong index or a missed term is off by the scale itself.
      const double tol = tf32 ? 1e-2 : 3e-4;
      HEMO_CHECK_CLOSE(y, Tensor::from_vector(ref.y, ys), tol, "cudnn conv forward");
      HEMO_CHECK_CLOSE(gx, Tensor::from_vector(ref.gx, xs), tol, "cudnn conv backward-data");
      HEMO_CHECK_CLOSE(gw, Tensor::from_vector(ref.gw, ws), tol, "cudnn conv backward-filter");
    }
  }
  CHECK(cuda::cudnn_cached_algorithms() >= 3);
}

#else

TEST_CASE("cuBLAS and cuDNN") { HEMO_REQUIRE_GPU(); }

#endif  // HEMO_WITH_CUDA
