#include "models/blocks.h"
#include <algorithm>
#include <cmath>

#include "nn/init.h"

namespace hemo::models {

nn::ModulePtr square_conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias, Generator& gen) {
  nn::Conv2d::Options o;
  o.kernel = {k, k}, o.stride = {stride, stride}, o.padding = {pad, pad}, o.bias = bias;
  return nn::make<nn::Conv2d>(in, out, o, gen);
}

nn::ModulePtr relu() { return nn::make<nn::Act>(Activation::relu); }

std::shared_ptr<nn::Sequential> conv_norm_act(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                                              std::optional<Activation> act, BnConfig bn, Generator& gen) {
  nn::Conv2d::Options o;
  o.kernel = {kernel, kernel};
  o.stride = {stride, stride};
  o.padding = {(kernel - 1) / 2, (kernel - 1) / 2};
  o.groups = groups;
  o.bias = false;
  auto seq = nn::make<nn::Sequential>();
  seq->push_back(nn::make<nn::Conv2d>(in, out, o, gen));
  seq->push_back(nn::make<nn::BatchNorm2d>(out, bn.eps, bn.momentum));
  if (act) seq->push_back(nn::make<nn::Act>(*act));
  return seq;
}

int64_t make_divisible(double v, int64_t divisor) {
  // int(v + divisor / 2) // divisor * divisor, as Python evaluates it for positive v.
  int64_t rounded = static_cast<int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor;
  int64_t out = std::max(divisor, rounded);
  if (static_cast<double>(out) < 0.9 * v) out += divisor;
  return out;
}

void init_convs_kaiming_fan_out(nn::Module& root, Generator& gen) {
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : root.named_modules()) {
    auto* conv = dynamic_cast<nn::Conv2d*>(m);
    if (!conv) continue;
    nn::kaiming_normal_(conv->weight, gen, 0, nn::FanMode::fan_out, nn::Nonlinearity::relu);
    if (conv->bias.defined()) nn::constant_(conv->bias, 0);
  }
}

void init_linears_normal(nn::Module& root, Generator& gen, double stddev) {
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : root.named_modules()) {
    auto* fc = dynamic_cast<nn::Linear*>(m);
    if (!fc) continue;
    nn::normal_(fc->weight, gen, 0, stddev);
    if (fc->bias.defined()) nn::constant_(fc->bias, 0);
  }
}

}  // namespace hemo::models
