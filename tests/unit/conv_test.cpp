// conv2d: hand-computed forward and backward (plain, strided + padded, dilated, grouped,
// depthwise), the dense kernels against a direct 7-loop reference on shapes that exercise their
// batching paths, the depthwise kernels against the dense ones, and shape errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/depthwise_conv2d.h"
#include "nn/ops_conv.h"
#include "tests/support/compare.h"
#include "tests/support/random.h"

using namespace hemo;
using V = std::vector<float>;

namespace {
Tensor iota(const Shape& shape) {  // 1, 2, 3, ...
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
  return Tensor::from_vector(v, shape);
}
}  // namespace

TEST_CASE("conv2d: 2x2 kernel on a 3x3 image, forward and all three gradients by hand") {
  Tensor x = iota({1, 1, 3, 3}).requires_grad_();                                  // 1..9
  Tensor w = Tensor::from_vector<float>({1, 0, 0, -1}, {1, 1, 2, 2}).requires_grad_();  // x[i][j] - x[i+1][j+1]
  Tensor b = Tensor::from_vector<float>({0.5f}, {1}).requires_grad_();
  Tensor y = nn::conv2d(x, w, b);
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector<float>() == V{-3.5f, -3.5f, -3.5f, -3.5f});
  y.backward(Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}));
  // gx: gy lands at (i, j) through w[0][0] = 1 and at (i+1, j+1) through w[1][1] = -1.
  CHECK(x.grad().to_vector<float>() == V{1, 2, 0, 3, 3, -2, 0, -3, -4});
  // gw[kr][ks] = sum gy[i][j] x[i+kr][j+ks]: 1*1+2*2+3*4+4*5, 1*2+2*3+3*5+4*6, ...
  CHECK(w.grad().to_vector<float>() == V{37, 47, 67, 77});
  CHECK(b.grad().to_vector<float>() == V{10});
}

TEST_CASE("conv2d: stride 2 with padding 1 counts only the taps inside the image") {
  Tensor x = iota({1, 1, 3, 3}).requires_grad_();
  Tensor w = Tensor::ones({1, 1, 3, 3});
  Tensor y = nn::conv2d(x, w, Tensor(), {2, 2}, {1, 1});
  // Windows centred on the four corners: 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
  CHECK(y.to_vector<float>() == V{12, 16, 24, 28});
  y.backward(Tensor::ones({1, 1, 2, 2}));
  CHECK(x.grad().to_vector<float>() == V{1, 2, 1, 2, 4, 2, 1, 2, 1});  // how many windows hold each pixel
}

TEST_CASE("conv2d: dilation 2 spreads the taps") {
  Tensor x = iota({1, 1, 4, 4});
  Tensor y = nn::conv2d(x, Tensor::ones({1, 1, 2, 2}), Tensor(), {1, 1}, {0, 0}, {2, 2});
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector<float>() == V{1 + 3 + 9 + 11, 2 + 4 + 10 + 12, 5 + 7 + 13 + 15, 6 + 8 + 14 + 16});
}

TEST_CASE("conv2d: two groups see only their own channels") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4, 1, 1}).requires_grad_();
  Tensor w = Tensor::from_vector<float>({1, 10, 100, 1000}, {2, 2, 1, 1}).requires_grad_();
  Tensor y = nn::conv2d(x, w, Tensor(), {1, 1}, {0, 0}, {1, 1}, 2);
  CHECK(y.to_vector<float>() == V{1 * 1 + 10 * 2, 100 * 3 + 1000 * 4});
  y.backward(Tensor::from_vector<float>({1, 2}, {1, 2, 1, 1}));
  CHECK(x.grad().to_vector<float>() == V{1, 10, 200, 2000});
  CHECK(w.grad().to_vector<float>() == V{1, 2, 6, 8});
}

TEST_CASE("conv2d: depthwise (groups == channels) by hand, with bias and with stride 2 + padding") {
  // Channel 0 holds 1..9 with filter [[1, 0], [0, 1]]; channel 1 holds ones with filter 1s, bias 0.5.
  std::vector<float> xv = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = Tensor::from_vector(xv, {1, 2, 3, 3}).requires_grad_();
  Tensor w = Tensor::from_vector<float>({1, 0, 0, 1, 1, 1, 1, 1}, {2, 1, 2, 2}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({0, 0.5f}, {2}).requires_grad_();
  Tensor y = nn::conv2d(x, w, b, {1, 1}, {0, 0}, {1, 1}, 2);
  CHECK(y.to_vector<float>() == V{1 + 5, 2 + 6, 4 + 8, 5 + 9, 4.5f, 4.5f, 4.5f, 4.5f});
  y.backward(Tensor::from_vector<float>({1, 0, 0, 0, 0, 0, 0, 2}, {1, 2, 2, 2}));
  CHECK(x.grad().to_vector<float>() == V{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 2, 2});
  CHECK(w.grad().to_vector<float>() == V{1, 2, 4, 5, 2, 2, 2, 2});
  CHECK(b.grad().to_vector<float>() == V{1, 2});

  // 3x3, stride 2, padding 1: channel 0 as in the dense case above, channel 1 (weights 2) counts taps.
  Tensor w3 = Tensor::from_vector<float>({1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}, {2, 1, 3, 3});
  Tensor y3 = nn::conv2d(x.detach(), w3, Tensor(), {2, 2}, {1, 1}, {1, 1}, 2);
  CHECK(y3.to_vector<float>() == V{12, 16, 24, 28, 8, 8, 8, 8});
}

TEST_CASE("conv2d: output size and argument errors") {
  CHECK(nn::conv_output_size(100, 3, 1, 1, 1) == 100);
  CHECK(nn::conv_output_size(7, 3, 2, 1, 1) == 4);
  CHECK(nn::conv_output_size(13, 5, 2, 2, 1) == 7);
  CHECK(nn::conv_output_size(7, 3, 1, 0, 2) == 3);
  Tensor x = Tensor::ones({2, 4, 5, 5});
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string channels = message([&] { nn::conv2d(x, Tensor::ones({3, 3, 3, 3}), Tensor()); });
  CHECK_MESSAGE(channels.find("conv2d") != std::string::npos, channels);
  CHECK_MESSAGE(channels.find("4 channels") != std::string::npos, channels);
  CHECK_THROWS_AS(nn::conv2d(x, Tensor::ones({3, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2), Error);  // 3 % 2
  CHECK_THROWS_AS(nn::conv2d(x, Tensor::ones({4, 4, 3, 3}), Tensor::ones({3})), Error);                   // bias
  CHECK_THROWS_AS(nn::conv2d(x, Tensor::ones({4, 4, 7, 7}), Tensor()), Error);                            // too small
  CHECK_THROWS_AS(nn::conv2d(x, Tensor::ones({4, 4, 3, 3}), Tensor(), {0, 1}), Error);                    // stride
  CHECK_THROWS_AS(nn::conv2d(Tensor::ones({4, 5, 5}), Tensor::ones({4, 4, 3, 3}), Tensor()), Error);      // 3-d
  CHECK_THROWS_AS(nn::conv2d(x, Tensor::ones({4, 4, 3, 3}).to(DType::f64), Tensor()), Error);             // dtypes
}

namespace {
// The definition in kernels/conv2d.h, as seven plain loops (double precision).
struct Direct {
  Conv2dShape s;
  int64_t P, Q, cg, kg;
  explicit Direct(const Conv2dShape& shape) : s(shape), P(s.p()), Q(s.q()), cg(s.c / s.groups), kg(s.k / s.groups) {}
  // Calls f(x index, weight index, y index) for every (output, tap) pair that reads the input.
  template <class F>
  void each(F f) const {
    for (int64_t b = 0; b < s.n; ++b)
      for (int64_t o = 0; o < s.k; ++o)
        for (int64_t i = 0; i < P; ++i)
          for (int64_t j = 0; j < Q; ++j)
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t kr = 0; kr < s.r; ++kr)
                for (int64_t ks = 0; ks < s.s; ++ks) {
                  const int64_t ih = i * s.stride_h - s.pad_h + kr * s.dil_h;
                  const int64_t iw = j * s.stride_w - s.pad_w + ks * s.dil_w;
                  if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                  const int64_t xc = o / kg * cg + ci;
                  f(((b * s.c + xc) * s.h + ih) * s.w + iw, ((o * cg + ci) * s.r + kr) * s.s + ks,
                    ((b * s.k + o) * P + i) * Q + j);
                }
  }
};

void check_dense_against_direct(const Conv2dShape& s, uint64_t seed) {
  CAPTURE(s.n);
  CAPTURE(s.h);
  CAPTURE(s.w);
  CAPTURE(s.r);
  CAPTURE(s.groups);
  const Direct d(s);
  Tensor x = test::random_tensor({s.n, s.c, s.h, s.w}, seed), w = test::random_tensor({s.k, d.cg, s.r, s.s}, seed + 1);
  Tensor gy = test::random_tensor({s.n, s.k, d.P, d.Q}, seed + 2);
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), gv = gy.to_vector<double>();
  std::vector<double> y(gv.size(), 0.0), gx(xv.size(), 0.0), gw(wv.size(), 0.0);
  d.each([&](int64_t xi, int64_t wi, int64_t yi) {
    const auto X = static_cast<size_t>(xi), W = static_cast<size_t>(wi), Y = static_cast<size_t>(yi);
    y[Y] += wv[W] * xv[X];
    gx[X] += wv[W] * gv[Y];
    gw[W] += gv[Y] * xv[X];
  });
  Tensor y_got = Tensor::empty(gy.shape(), DType::f64), gx_got = Tensor::empty_like(x), gw_got = Tensor::empty_like(w);
  cpu::conv2d_fwd<double>(cpu::backend, s, x.data<double>(), w.data<double>(), nullptr, y_got.data<double>());
  cpu::conv2d_bwd_data<double>(cpu::backend, s, gy.data<double>(), w.data<double>(), gx_got.data<double>());
  cpu::conv2d_bwd_filter<double>(cpu::backend, s, x.data<double>(), gy.data<double>(), gw_got.data<double>(), nullptr);
  HEMO_CHECK_CLOSE(y_got, Tensor::from_vector(y, gy.shape()), 1e-12, "forward");
  HEMO_CHECK_CLOSE(gx_got, Tensor::from_vector(gx, x.shape()), 1e-12, "bwd_data");
  HEMO_CHECK_CLOSE(gw_got, Tensor::from_vector(gw, w.shape()), 1e-12, "bwd_filter");
}
}  // namespace

TEST_CASE("conv2d kernels: dense im2col+GEMM against the direct definition, every batching path") {
  // {n, c, h, w, k, r, s, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups}
  // 70x70 outputs: one image per GEMM; 25x40: chunks of 5 images (7 = 5 + 2); 7x13: the whole batch.
  check_dense_against_direct({2, 2, 70, 70, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1}, 10);
  check_dense_against_direct({7, 3, 25, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1}, 20);
  check_dense_against_direct({3, 6, 7, 13, 9, 3, 2, 2, 1, 1, 0, 2, 1, 3}, 30);  // groups, stride, dilation
  // 1x1 kernels read x directly when a chunk is one image, and are gathered otherwise.
  check_dense_against_direct({2, 4, 64, 65, 6, 1, 1, 1, 1, 0, 0, 1, 1, 2}, 40);
  check_dense_against_direct({5, 4, 7, 13, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1}, 50);
  check_dense_against_direct({3, 5, 9, 8, 7, 1, 1, 2, 2, 0, 0, 1, 1, 1}, 60);  // strided 1x1: im2col
}

TEST_CASE("conv2d kernels: the depthwise kernels agree with the dense grouped ones") {
  // {n, c, h, w, k, r, s, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups}
  for (const Conv2dShape& s : {Conv2dShape{3, 10, 7, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 10},
                               Conv2dShape{3, 10, 7, 13, 10, 3, 3, 2, 2, 1, 1, 1, 1, 10},
                               Conv2dShape{2, 6, 9, 11, 6, 5, 5, 1, 1, 2, 2, 1, 1, 6},
                               Conv2dShape{2, 6, 9, 11, 6, 5, 5, 2, 2, 2, 2, 1, 1, 6},
                               Conv2dShape{1, 3, 6, 5, 3, 3, 1, 2, 1, 0, 1, 1, 1, 3}}) {
    CAPTURE(s.r);
    CAPTURE(s.stride_h);
    const int64_t P = s.p(), Q = s.q();
    Tensor x = test::random_tensor({s.n, s.c, s.h, s.w}, 1), w = test::random_tensor({s.c, 1, s.r, s.s}, 2);
    Tensor b = test::random_tensor({s.c}, 3), gy = test::random_tensor({s.n, s.c, P, Q}, 4);
    Tensor y1 = Tensor::empty(gy.shape(), DType::f64), y2 = Tensor::empty(gy.shape(), DType::f64);
    Tensor gx1 = Tensor::empty_like(x), gx2 = Tensor::empty_like(x), gw1 = Tensor::empty_like(w),
           gw2 = Tensor::empty_like(w), gb1 = Tensor::empty_like(b), gb2 = Tensor::empty_like(b);
    cpu::depthwise_conv2d_fwd<double>(cpu::backend, s, x.data<double>(), w.data<double>(), b.data<double>(), y1.data<double>());
    cpu::conv2d_fwd<double>(cpu::backend, s, x.data<double>(), w.data<double>(), b.data<double>(), y2.data<double>());
    cpu::depthwise_conv2d_bwd_data<double>(cpu::backend, s, gy.data<double>(), w.data<double>(), gx1.data<double>());
    cpu::conv2d_bwd_data<double>(cpu::backend, s, gy.data<double>(), w.data<double>(), gx2.data<double>());
    cpu::depthwise_conv2d_bwd_filter<double>(cpu::backend, s, x.data<double>(), gy.data<double>(), gw1.data<double>(),
                                             gb1.data<double>());
    cpu::conv2d_bwd_filter<double>(cpu::backend, s, x.data<double>(), gy.data<double>(), gw2.data<double>(), gb2.data<double>());
    HEMO_CHECK_CLOSE(y1, y2, 1e-12, "forward");
    HEMO_CHECK_CLOSE(gx1, gx2, 1e-12, "bwd_data");
    HEMO_CHECK_CLOSE(gw1, gw2, 1e-12, "bwd_filter weight");
    HEMO_CHECK_CLOSE(gb1, gb2, 1e-12, "bwd_filter bias");
  }
  Conv2dShape dilated{1, 3, 6, 6, 3, 3, 3, 1, 1, 0, 0, 2, 2, 3};
  CHECK_THROWS_AS(validate_depthwise(dilated, "depthwise_conv2d"), Error);
}

TEST_CASE("depthwise kernels: the specialized 3x3/5x5 rows against the generic loops (set_depthwise_specialized)") {
  // Planes wider than the kernel (interior columns) and narrower (borders only), both strides;
  // the small ones take the zero-padded path.
  for (const Conv2dShape& s : {Conv2dShape{2, 5, 9, 23, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5},
                               Conv2dShape{2, 5, 9, 23, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5},
                               Conv2dShape{3, 4, 11, 17, 4, 5, 5, 1, 1, 2, 2, 1, 1, 4},
                               Conv2dShape{3, 4, 11, 17, 4, 5, 5, 2, 2, 2, 2, 1, 1, 4},
                               Conv2dShape{1, 3, 4, 3, 3, 5, 5, 1, 1, 2, 2, 1, 1, 3},
                               Conv2dShape{1, 3, 6, 4, 3, 5, 5, 2, 2, 2, 2, 1, 1, 3},
                               Conv2dShape{2, 5, 8, 16, 5, 3, 3, 2, 2, 0, 0, 1, 1, 5},
                               // small planes (at most 16 x 16 outputs: the zero-padded path)
                               Conv2dShape{2, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},
                               Conv2dShape{3, 5, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5},
                               Conv2dShape{2, 4, 16, 15, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4},
                               Conv2dShape{1, 3, 16, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3},
                               Conv2dShape{2, 3, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3},
                               Conv2dShape{2, 3, 14, 14, 3, 5, 5, 1, 1, 2, 2, 1, 1, 3},
                               Conv2dShape{2, 3, 28, 28, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3},
                               Conv2dShape{2, 4, 16, 16, 4, 3, 3, 2, 2, 1, 1, 1, 1, 4},
                               Conv2dShape{2, 3, 7, 9, 3, 5, 5, 1, 1, 2, 2, 1, 1, 3}}) {
    CAPTURE(s.r);
    CAPTURE(s.stride_h);
    CAPTURE(s.w);
    const int64_t P = s.p(), Q = s.q();
    const Tensor x = test::random_tensor({s.n, s.c, s.h, s.w}, 11, DType::f32),
                 w = test::random_tensor({s.c, 1, s.r, s.s}, 12, DType::f32),
                 b = test::random_tensor({s.c}, 13, DType::f32), gy = test::random_tensor({s.n, s.c, P, Q}, 14, DType::f32);
    Tensor out[2][4];  // [specialized][y, gx, gw, gb]
    for (int on : {1, 0}) {
      set_depthwise_specialized(on == 1);
      Tensor& y = out[on][0] = Tensor::empty(gy.shape());
      Tensor& gx = out[on][1] = Tensor::empty(x.shape());
      Tensor& gw = out[on][2] = Tensor::empty(w.shape());
      Tensor& gb = out[on][3] = Tensor::empty(b.shape());
      cpu::depthwise_conv2d_fwd<float>(cpu::backend, s, x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>());
      cpu::depthwise_conv2d_bwd_data<float>(cpu::backend, s, gy.data<float>(), w.data<float>(), gx.data<float>());
      cpu::depthwise_conv2d_bwd_filter<float>(cpu::backend, s, x.data<float>(), gy.data<float>(), gw.data<float>(),
                                              gb.data<float>());
    }
    set_depthwise_specialized(true);
    CHECK(out[1][0].to_vector<float>() == out[0][0].to_vector<float>());  // the same bits
    CHECK(out[1][1].to_vector<float>() == out[0][1].to_vector<float>());
    HEMO_CHECK_CLOSE(out[1][2], out[0][2], 1e-6, "bwd_filter weight (float row sums against double)");
    HEMO_CHECK_CLOSE(out[1][3], out[0][3], 1e-6, "bwd_filter bias");
  }
}
