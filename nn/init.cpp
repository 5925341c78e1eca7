#include "nn/init.h"

#include <cmath>

namespace hemo::nn {

namespace {
// Fills t with draw() in element order: directly for CPU tensors, through a host buffer for CUDA.
template <class Draw>
void fill(Tensor& t, Draw&& draw) {
  HEMO_CHECK(t.dtype() != DType::bf16, "init: bfloat16 parameters are not supported (", t.str(), ")");
  Tensor host = t.device().is_cpu() ? t : Tensor::empty(t.shape(), t.dtype(), Device::cpu());
  const int64_t n = host.numel();
  if (host.dtype() == DType::f32) {
    float* p = host.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(draw());
  } else {
    double* p = host.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = draw();
  }
  if (!t.device().is_cpu()) copy_bytes(t.raw(), t.device(), host.raw(), Device::cpu(), t.nbytes());
}

// gain / sqrt(fan) for the kaiming initializers.
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nl) {
  const auto [fan_in, fan_out] = fan_in_fan_out(t.shape());
  const int64_t fan = mode == FanMode::fan_in ? fan_in : fan_out;
  return calculate_gain(nl, a) / std::sqrt(static_cast<double>(fan));
}
}  // namespace

std::pair<int64_t, int64_t> fan_in_fan_out(const Shape& s) {
  HEMO_CHECK(s.size() >= 2, "fan_in_fan_out: needs a weight of at least 2 dimensions, got ", shape_str(s));
  int64_t receptive = 1;
  for (size_t i = 2; i < s.size(); ++i) receptive *= s[i];
  return {s[1] * receptive, s[0] * receptive};
}

double calculate_gain(Nonlinearity nl, double a) {
  switch (nl) {
    case Nonlinearity::linear: return 1.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + a * a));
  }
  return 1.0;
}

void uniform_(Tensor& t, Generator& gen, double lo, double hi) {
  HEMO_CHECK(lo <= hi, "uniform_: lower bound ", lo, " exceeds upper bound ", hi);
  fill(t, [&] { return gen.uniform(lo, hi); });
}

void normal_(Tensor& t, Generator& gen, double mean, double stddev) {
  HEMO_CHECK(stddev >= 0, "normal_: standard deviation must be non-negative, got ", stddev);
  fill(t, [&] { return gen.normal(mean, stddev); });
}

void trunc_normal_(Tensor& t, Generator& gen, double mean, double stddev, double a, double b) {
  HEMO_CHECK(stddev > 0 && a < b, "trunc_normal_: need stddev > 0 and a < b, got ", stddev, ", [", a, ", ", b, "]");
  HEMO_CHECK(a < mean + 6 * stddev && b > mean - 6 * stddev, "trunc_normal_: [", a, ", ", b,
             "] lies more than 6 standard deviations from the mean ", mean);
  fill(t, [&] {
    for (;;)
      if (const double v = gen.normal(mean, stddev); v >= a && v <= b) return v;
  });
}

void constant_(Tensor& t, double value) {
  fill(t, [value] { return value; });
}

void kaiming_uniform_(Tensor& t, Generator& gen, double a, FanMode mode, Nonlinearity nl) {
  if (t.numel() == 0) return;  // as torch: nothing to fill, and no fan to divide by
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nl);
  uniform_(t, gen, -bound, bound);
}

void kaiming_normal_(Tensor& t, Generator& gen, double a, FanMode mode, Nonlinearity nl) {
  if (t.numel() == 0) return;
  normal_(t, gen, 0.0, kaiming_std(t, a, mode, nl));
}

}  // namespace hemo::nn
