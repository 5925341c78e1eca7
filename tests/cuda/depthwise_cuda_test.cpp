// The specialized CUDA depthwise kernels (kernels/cuda/depthwise_tiled.cuh) against the generic
// ones (depthwise_specialized() off) and the CPU reference, called directly on raw buffers: the
// four geometries (3x3 and 5x5 at stride 1 and 2) x NCHW and channels-last x three paddings (k/2,
// 0, and (k/2, 0)) x shapes with odd sizes, planes smaller than a tile and than the kernel, sizes
// that are not multiples of a tile, several images and 1 to 70 channels (NHWC's channel tile is
// 32). Random non-zero data (tests/support/random.h); device outputs start as NaN (poisoning).
//   forward and input gradient: bit for bit against the generic kernels;
//   weight gradient: 1e-6 magnitude-scaled (compare.h) against them (double sums in another
//   order); bias gradient: bit for bit (both paths use channel_sum);
//   all four against the CPU kernels at the op cases' CUDA tolerance, 1e-5.
// Each run also checks that the tiled kernels ran: three tiled launches per pass set with the
// switch on, none with it off.
#include <algorithm>
#include <cstdio>

#include "kernels/depthwise_conv2d.h"
#include "tests/cuda/cuda_test.h"
#include "tests/support/opcases.h"

using namespace hemo;

#if HEMO_WITH_CUDA
namespace {

struct Buffers {
  Tensor y, gx, gw, gb;  // on the host
};

struct Problem {
  Conv2dShape s;
  Tensor x, w, bias, gy;  // host, flat, in the shape's memory order
};

Problem make_problem(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t stride, int64_t pad_h,
                     int64_t pad_w, bool channels_last, uint64_t seed) {
  Problem p;
  Conv2dShape& s = p.s;
  s.n = n, s.c = c, s.h = h, s.w = w, s.k = c, s.groups = c, s.r = k, s.s = k;
  s.stride_h = s.stride_w = stride, s.pad_h = pad_h, s.pad_w = pad_w, s.channels_last = channels_last;
  p.x = test::rand_f32({n * c * h * w}, seed);
  p.w = test::rand_f32({c * k * k}, seed + 1);
  p.bias = test::rand_f32({c}, seed + 2);
  p.gy = test::rand_f32({n * c * s.p() * s.q()}, seed + 3);
  return p;
}

Buffers on_cpu(const Problem& p) {
  const Conv2dShape& s = p.s;
  Buffers o{Tensor::empty({s.n * s.c * s.p() * s.q()}), Tensor::empty(p.x.shape()), Tensor::empty(p.w.shape()),
            Tensor::empty(p.bias.shape())};
  cpu::depthwise_conv2d_fwd(cpu::backend, s, p.x.data<float>(), p.w.data<float>(), p.bias.data<float>(),
                            o.y.data<float>());
  cpu::depthwise_conv2d_bwd_data(cpu::backend, s, p.gy.data<float>(), p.w.data<float>(), o.gx.data<float>());
  cpu::depthwise_conv2d_bwd_filter(cpu::backend, s, p.x.data<float>(), p.gy.data<float>(), o.gw.data<float>(),
                                   o.gb.data<float>());
  return o;
}

// The three passes on the device with the switch set to `specialized`; checks how many tiled
// launches they made.
Buffers on_gpu(const Problem& p, bool specialized) {
  const Conv2dShape& s = p.s;
  const Tensor x = test::on_gpu(p.x), w = test::on_gpu(p.w), bias = test::on_gpu(p.bias), gy = test::on_gpu(p.gy);
  const auto empty = [](const Tensor& like) { return Tensor::empty(like.shape(), DType::f32, test::gpu()); };
  Buffers o{empty(gy), empty(x), empty(w), empty(bias)};
  const bool was = depthwise_specialized();
  set_depthwise_specialized(specialized);
  const uint64_t before = cuda::depthwise_tiled_launches();
  cuda::depthwise_conv2d_fwd(cuda::backend, s, x.data<float>(), w.data<float>(), bias.data<float>(), o.y.data<float>());
  cuda::depthwise_conv2d_bwd_data(cuda::backend, s, gy.data<float>(), w.data<float>(), o.gx.data<float>());
  cuda::depthwise_conv2d_bwd_filter(cuda::backend, s, x.data<float>(), gy.data<float>(), o.gw.data<float>(),
                                    o.gb.data<float>());
  const uint64_t ran = cuda::depthwise_tiled_launches() - before;
  set_depthwise_specialized(was);
  CHECK_MESSAGE(ran == (specialized ? 3u : 0u), "tiled launches: ", ran, " with the switch ", specialized);
  const Device host = Device::cpu();
  return {o.y.to(host), o.gx.to(host), o.gw.to(host), o.gb.to(host)};
}

}  // namespace

TEST_CASE("cuda: specialized depthwise kernels match the generic ones and the CPU, both memory orders") {
  HEMO_REQUIRE_GPU();
  struct Size {
    int64_t n, c, h, w;
  };
  // Odd sizes; planes smaller than a tile (8x32 NCHW, 8x8 or 4x8 NHWC) and than the kernel; sizes
  // just past a tile, at stride 2 too (67 columns: 32 to 34 output columns); 1, 5, 37 and 70
  // channels.
  const std::vector<Size> sizes = {{2, 5, 7, 6},   {1, 1, 2, 3},    {3, 37, 9, 13}, {1, 70, 17, 33},
                                   {2, 3, 1, 1},   {1, 33, 12, 41}, {2, 8, 5, 5},   {1, 5, 10, 67}};
  test::Worst vs_generic{opcases::Check::cuda, "depthwise tiled vs generic (weight gradient)"};
  test::Worst vs_cpu{opcases::Check::cuda, "depthwise tiled vs cpu"};
  uint64_t seed = 1000;
  for (int64_t k : {3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (bool last : {false, true}) {
        const int64_t pads[3][2] = {{k / 2, k / 2}, {0, 0}, {k / 2, 0}};
        for (const auto& pad : pads) {
          for (const Size& z : sizes) {
            // Skip the shapes whose output would be empty (validate_depthwise refuses them).
            if (z.h + 2 * pad[0] < k || z.w + 2 * pad[1] < k) continue;
            const Problem p = make_problem(z.n, z.c, z.h, z.w, k, stride, pad[0], pad[1], last, seed += 4);
            const std::string label = cat(k, "x", k, " stride ", stride, last ? " NHWC" : " NCHW", " pad ", pad[0],
                                          ",", pad[1], " x [", z.n, ", ", z.c, ", ", z.h, ", ", z.w, "]");
            const Buffers t = on_gpu(p, true), g = on_gpu(p, false), c = on_cpu(p);
            test::check_equal(t.y, g.y, label + ": forward, tiled vs generic");
            test::check_equal(t.gx, g.gx, label + ": input gradient, tiled vs generic");
            vs_generic.close(t.gw, g.gw, 1e-6, label + ": weight gradient, tiled vs generic");
            test::check_equal(t.gb, g.gb, label + ": bias gradient, tiled vs generic");
            vs_cpu.close(t.y, c.y, 1e-5, label + ": forward vs cpu");
            vs_cpu.close(t.gx, c.gx, 1e-5, label + ": input gradient vs cpu");
            vs_cpu.close(t.gw, c.gw, 1e-5, label + ": weight gradient vs cpu");
            vs_cpu.close(t.gb, c.gb, 1e-5, label + ": bias gradient vs cpu");
            ++vs_generic.samples;
            ++vs_cpu.samples;
          }
        }
      }
    }
  }
  vs_generic.print();
  vs_cpu.print();
}

// Several weight-gradient spans (kSpan: 4096 positions NCHW, 512 NHWC), the last one short, and a
// plane of several tiles each way.
TEST_CASE("cuda: specialized depthwise weight gradient over several spans") {
  HEMO_REQUIRE_GPU();
  test::Worst worst{opcases::Check::cuda, "depthwise tiled spans"};
  uint64_t seed = 5000;
  for (int64_t k : {3, 5}) {
    for (bool last : {false, true}) {
      const Problem p = make_problem(3, 34, 37, 41, k, 1, k / 2, k / 2, last, seed += 4);
      const std::string label = cat(k, "x", k, last ? " NHWC" : " NCHW", " [3, 34, 37, 41]");
      const Buffers t = on_gpu(p, true), g = on_gpu(p, false), c = on_cpu(p);
      test::check_equal(t.y, g.y, label + ": forward, tiled vs generic");
      test::check_equal(t.gx, g.gx, label + ": input gradient, tiled vs generic");
      worst.close(t.gw, g.gw, 1e-6, label + ": weight gradient, tiled vs generic");
      worst.close(t.gw, c.gw, 1e-5, label + ": weight gradient vs cpu");
      ++worst.samples;
    }
  }
  worst.print();
}

// Shapes the tiled kernels do not take run the generic ones, the switch on.
TEST_CASE("cuda: depthwise shapes without a specialized kernel fall back to the generic ones") {
  HEMO_REQUIRE_GPU();
  Problem p = make_problem(2, 5, 9, 9, 3, 1, 1, 1, false, 77);
  p.s.stride_w = 2;  // unequal strides
  p.gy = test::rand_f32({p.s.n * p.s.c * p.s.p() * p.s.q()}, 78);
  const Buffers t = on_gpu(p, false);
  const uint64_t before = cuda::depthwise_tiled_launches();
  cuda::depthwise_conv2d_fwd(cuda::backend, p.s, test::on_gpu(p.x).data<float>(), test::on_gpu(p.w).data<float>(),
                             static_cast<const float*>(nullptr),
                             Tensor::empty(t.y.shape(), DType::f32, test::gpu()).data<float>());
  CHECK(cuda::depthwise_tiled_launches() == before);
}
#endif
