// The bf16 check shared by the CPU test (tests/unit/bf16_ops_test.cpp) and the CUDA one
// (tests/cuda/bf16_cuda_test.cpp): an op y = op(x, w) and its two gradients, run under
// --precision bf16 on a device, against the same op in float32 on the CPU.
//
// Tolerance, per output element: a bf16 product differs from the float32 one by at most 2^-8 of
// its magnitude (each operand rounds by at most 2^-9), so an output that sums products differs by
// at most 2^-8 times the sum of their magnitudes, plus float32 summation error (1e-5 of it here),
// plus what the device rounds its outputs by (`output_rounding`: 0 on the CPU, which keeps the
// float32 sums; 2^-9 for cuDNN's bf16 outputs). The magnitudes come from the same op run in
// float32 on |x|, |w| and |gy|: the forward gives sum |x||w| per output, its backward sum |gy||w|
// per input and sum |gy||x| per weight. Each case must also differ from float32 somewhere by more
// than summation error, or bf16 never ran.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/precision.h"
#include "nn/ops_conv.h"
#include "nn/ops_linear.h"
#include "tensor/tensor.h"
#include "tests/support/random.h"

namespace hemo::test {

using BinaryOp = std::function<Tensor(const Tensor&, const Tensor&)>;

struct Bf16Outputs {
  std::vector<float> y, gx, gw;
};

// y = op(x, w) and the gradients of sum(y * gy) with respect to x and w, in float32, on `device`
// (4-d tensors stored in `format`) under `precision`.
inline Bf16Outputs run_under(const BinaryOp& op, const Tensor& x0, const Tensor& w0, const Tensor& gy0,
                             Precision precision, Device device = Device::cpu(),
                             MemoryFormat format = MemoryFormat::contiguous) {
  const auto place = [&](const Tensor& t) {
    Tensor p = t.detach().to(device);
    return t.dim() == 4 ? p.to(format) : p;
  };
  set_precision(precision);
  Tensor x = place(x0).requires_grad_(), w = place(w0).requires_grad_();
  Tensor y = op(x, w);
  y.backward(place(gy0));
  set_precision(Precision::fp32);
  return {y.to_vector<float>(), x.grad().to_vector<float>(), w.grad().to_vector<float>()};
}

inline Tensor abs_of(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& e : v) e = std::fabs(e);
  return Tensor::from_vector(v, t.shape());
}

// Worst |bf16 - fp32| / allowance over y, gx and gw; fails the test past 1, or when no element
// differs by more than 10 float32 summation errors (1e-5 of the magnitude).
inline void check_bf16_op(const std::string& name, const BinaryOp& op, const Shape& x_shape, const Shape& w_shape,
                          uint64_t seed, Device device = Device::cpu(), MemoryFormat format = MemoryFormat::contiguous,
                          double output_rounding = 0) {
  CAPTURE(name);
  const Tensor x = random_tensor(x_shape, seed, DType::f32), w = random_tensor(w_shape, seed + 1, DType::f32);
  const Shape y_shape = op(x, w).shape();
  const Tensor gy = random_tensor(y_shape, seed + 2, DType::f32);
  const Bf16Outputs want = run_under(op, x, w, gy, Precision::fp32);
  const Bf16Outputs got = run_under(op, x, w, gy, Precision::bf16, device, format);
  const Bf16Outputs mag = run_under(op, abs_of(x), abs_of(w), abs_of(gy), Precision::fp32);
  const double allowance = std::ldexp(1.0, -8) + output_rounding + 1e-5;
  double worst = 0, differs = 0;
  std::string where;
  const auto compare = [&](const char* what, const std::vector<float>& a, const std::vector<float>& b,
                           const std::vector<float>& m) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
      const double ratio = d / (allowance * m[i] + 1e-30);
      if (!(ratio <= worst)) {  // a NaN is the worst
        worst = ratio;
        where = cat(what, "[", i, "]: bf16 ", a[i], ", float32 ", b[i]);
      }
      differs = std::max(differs, d / (1e-5 * m[i] + 1e-30));
    }
  };
  compare("y", got.y, want.y, mag.y);
  compare("gx", got.gx, want.gx, mag.gx);
  compare("gw", got.gw, want.gw, mag.gw);
  MESSAGE(cat(name, " on ", device.str(), format == MemoryFormat::channels_last ? " (channels-last)" : "",
              ": worst |bf16 - float32| / allowance ", worst, " at ", where, "; largest difference ", differs,
              " float32 summation errors"));
  CHECK(worst <= 1);
  CHECK(differs > 10);
}

// The cases both devices run: dense convolutions of every kind the models use (3x3 with padding,
// strided, 1x1, grouped) and a linear layer, at odd sizes.
inline void check_bf16_cases(Device device, MemoryFormat format = MemoryFormat::contiguous,
                             double output_rounding = 0) {
  using nn::conv2d;
  const auto check = [&](const char* name, const BinaryOp& op, const Shape& xs, const Shape& ws, uint64_t seed) {
    check_bf16_op(name, op, xs, ws, seed, device, format, output_rounding);
  };
  check("conv 3x3 pad 1", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {1, 1}, {1, 1}); },
        {2, 5, 9, 11}, {7, 5, 3, 3}, 1);
  check("conv 3x3 stride 2", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {2, 2}, {1, 1}); },
        {3, 16, 12, 10}, {40, 16, 3, 3}, 4);
  check("conv 1x1", [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor()); }, {2, 33, 7, 7},
        {20, 33, 1, 1}, 7);
  check("conv grouped",
        [](const Tensor& x, const Tensor& w) { return conv2d(x, w, Tensor(), {1, 1}, {1, 1}, {1, 1}, 2); },
        {2, 8, 6, 6}, {6, 4, 3, 3}, 10);
  check("linear", [](const Tensor& x, const Tensor& w) { return nn::linear(x, w, Tensor()); }, {9, 70}, {13, 70},
        13);
}

}  // namespace hemo::test
