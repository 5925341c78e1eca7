#include "models/efficientnet.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/blocks.h"
#include "models/mobilenet_v3.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_elementwise.h"

namespace hemo::models {

namespace {
struct Scaling {
  double width, depth, dropout;
  bool small_bn_eps;  // b5..b7: BatchNorm eps 0.001, momentum 0.01
};
Scaling scaling(const std::string& v) {
  if (v == "b0") return {1.0, 1.0, 0.2, false};
  if (v == "b1") return {1.0, 1.1, 0.2, false};
  if (v == "b2") return {1.1, 1.2, 0.3, false};
  if (v == "b3") return {1.2, 1.4, 0.3, false};
  if (v == "b4") return {1.4, 1.8, 0.4, false};
  if (v == "b5") return {1.6, 2.2, 0.4, true};
  if (v == "b6") return {1.8, 2.6, 0.5, true};
  if (v == "b7") return {2.0, 3.1, 0.5, true};
  throw Error(cat("EfficientNet: variant must be b0 ... b7, got ", v));
}
struct Row {
  int64_t expand, kernel, stride, in, out, layers;
};
constexpr Row kB0[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
                       {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
}  // namespace

MBConv::MBConv(const MBConvConfig& c, double stochastic_depth_prob, double bn_eps, double bn_momentum, Generator& gen)
    : use_res_connect(c.stride == 1 && c.in == c.out) {
  const BnConfig bn{bn_eps, bn_momentum};
  const int64_t expanded = make_divisible(static_cast<double>(c.in * c.expand), 8);
  block = nn::make<nn::Sequential>();
  if (expanded != c.in) block->push_back(conv_norm_act(c.in, expanded, 1, 1, 1, Activation::silu, bn, gen));
  block->push_back(conv_norm_act(expanded, expanded, c.kernel, c.stride, expanded, Activation::silu, bn, gen));
  block->push_back(nn::make<SqueezeExcitation>(expanded, std::max<int64_t>(1, c.in / 4), gen, Activation::silu,
                                               Activation::sigmoid));
  block->push_back(conv_norm_act(expanded, c.out, 1, 1, 1, std::nullopt, bn, gen));
  register_module("block", block);
  stochastic_depth = register_module("stochastic_depth", nn::make<nn::StochasticDepth>(stochastic_depth_prob));
}

Tensor MBConv::forward(const Tensor& x) {
  const Tensor y = (*block)(x);
  return use_res_connect ? nn::add((*stochastic_depth)(y), x) : y;
}

Shape MBConv::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.child(*this, "block", in);
  return use_res_connect ? t.child(*this, "stochastic_depth", y) : y;
}

EfficientNet::EfficientNet(const std::string& variant, int64_t num_classes, double dropout, double stochastic_depth,
                           Generator& gen) {
  const Scaling s = scaling(variant);
  const BnConfig bn = s.small_bn_eps ? BnConfig{0.001, 0.01} : BnConfig{};
  const double p_max = stochastic_depth >= 0 ? stochastic_depth : 0.2;
  auto channels = [&](int64_t c) { return make_divisible(static_cast<double>(c) * s.width, 8); };
  auto layers = [&](int64_t n) { return static_cast<int64_t>(std::ceil(static_cast<double>(n) * s.depth)); };
  int64_t total = 0;
  for (const Row& r : kB0) total += layers(r.layers);
  features = nn::make<nn::Sequential>();
  features->push_back(conv_norm_act(3, channels(kB0[0].in), 3, 2, 1, Activation::silu, bn, gen));
  int64_t j = 0;
  for (const Row& r : kB0) {
    auto stage = nn::make<nn::Sequential>();
    for (int64_t i = 0; i < layers(r.layers); ++i, ++j) {
      const MBConvConfig c{r.expand, r.kernel, i == 0 ? r.stride : 1, i == 0 ? channels(r.in) : channels(r.out),
                           channels(r.out)};
      stage->push_back(nn::make<MBConv>(c, p_max * static_cast<double>(j) / static_cast<double>(total), bn.eps,
                                        bn.momentum, gen));
    }
    features->push_back(stage);
  }
  const int64_t last_in = channels(kB0[std::size(kB0) - 1].out), last = 4 * last_in;
  features->push_back(conv_norm_act(last_in, last, 1, 1, 1, Activation::silu, bn, gen));
  avgpool = nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1});
  auto head = nn::make<nn::Linear>(last, num_classes, true, gen);
  classifier = nn::make<nn::Sequential>(
      std::vector<nn::ModulePtr>{nn::make<nn::Dropout>(dropout >= 0 ? dropout : s.dropout), head});
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
  if (!nn::init_enabled()) return;
  init_convs_kaiming_fan_out(*this, gen);
  const double range = 1.0 / std::sqrt(static_cast<double>(num_classes));
  nn::uniform_(head->weight, gen, -range, range);
  nn::constant_(head->bias, 0);
}

Tensor EfficientNet::forward(const Tensor& x) { return (*classifier)((*avgpool)((*features)(x)).flatten(1)); }

Shape EfficientNet::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.chain(*this, {"features", "avgpool"}, in);
  return t.child(*this, "classifier", {y[0], y[1] * y[2] * y[3]});
}

}  // namespace hemo::models
