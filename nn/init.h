// Parameter initializers with torch.nn.init's definitions, drawing from a hemo Generator so that a
// model's initial weights are reproducible from its seed. Each fills `t` in place (a CPU or CUDA
// tensor; the values are drawn on the host in element order and copied) without recording
// autograd history.
//
//   fan_in  = shape[1] * receptive field,  fan_out = shape[0] * receptive field,
//   receptive field = product of shape[2:] (1 for a 2-d weight). Requires dim >= 2.
//   gain(relu) = sqrt(2); gain(leaky_relu, a) = sqrt(2 / (1 + a^2)); gain(linear) = 1
//   (a defaults to 0, kaiming_*'s default; torch's calculate_gain('leaky_relu') with no param
//   assumes slope 0.01 instead.)
//   kaiming_uniform_: U(-b, b), b = gain * sqrt(3 / fan)      kaiming_normal_: N(0, gain / sqrt(fan))
//   torch.nn.Conv2d / Linear defaults: kaiming_uniform_(a = sqrt(5), fan_in), bias U(+-1/sqrt(fan_in)).
#pragma once
#include <cstdint>
#include <utility>

#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace hemo::nn {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, relu, leaky_relu };

std::pair<int64_t, int64_t> fan_in_fan_out(const Shape& weight_shape);  // {fan_in, fan_out}
double calculate_gain(Nonlinearity nl, double a = 0);

void uniform_(Tensor& t, Generator& gen, double lo, double hi);
void normal_(Tensor& t, Generator& gen, double mean, double stddev);
void constant_(Tensor& t, double value);
// Normal(mean, stddev) restricted to [a, b] (absolute bounds, as torch.nn.init.trunc_normal_'s
// defaults -2 and 2): values outside are drawn again. Requires a < b and some mass inside.
void trunc_normal_(Tensor& t, Generator& gen, double mean, double stddev, double a = -2, double b = 2);
// a: the negative slope of leaky_relu (torch's default nonlinearity for these is leaky_relu).
void kaiming_uniform_(Tensor& t, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                      Nonlinearity nl = Nonlinearity::leaky_relu);
void kaiming_normal_(Tensor& t, Generator& gen, double a = 0, FanMode mode = FanMode::fan_in,
                     Nonlinearity nl = Nonlinearity::leaky_relu);

}  // namespace hemo::nn
