#include "models/mobilenet_v3.h"

#include <vector>

#include "models/blocks.h"
#include "nn/ops_elementwise.h"

namespace hemo::models {

namespace {
constexpr BnConfig kBn{0.001, 0.01};

// torchvision's _mobilenet_v3_conf (width 1.0, no reduced tail, no dilation).
const std::vector<BneckConfig>& settings(bool large) {
  static const std::vector<BneckConfig> large_cfg{
      {16, 3, 16, 16, false, false, 1},   {16, 3, 64, 24, false, false, 2},   {24, 3, 72, 24, false, false, 1},
      {24, 5, 72, 40, true, false, 2},    {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
      {40, 3, 240, 80, false, true, 2},   {80, 3, 200, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
      {80, 3, 184, 80, false, true, 1},   {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
      {112, 5, 672, 160, true, true, 2},  {160, 5, 960, 160, true, true, 1},  {160, 5, 960, 160, true, true, 1}};
  static const std::vector<BneckConfig> small_cfg{
      {16, 3, 16, 16, true, false, 2},  {16, 3, 72, 24, false, false, 2}, {24, 3, 88, 24, false, false, 1},
      {24, 5, 96, 40, true, true, 2},   {40, 5, 240, 40, true, true, 1},  {40, 5, 240, 40, true, true, 1},
      {40, 5, 120, 48, true, true, 1},  {48, 5, 144, 48, true, true, 1},  {48, 5, 288, 96, true, true, 2},
      {96, 5, 576, 96, true, true, 1},  {96, 5, 576, 96, true, true, 1}};
  return large ? large_cfg : small_cfg;
}
}  // namespace

SqueezeExcitation::SqueezeExcitation(int64_t channels, int64_t squeeze, Generator& gen, Activation act,
                                     Activation scale_act) {
  nn::Conv2d::Options o;
  o.kernel = {1, 1};
  avgpool = register_module("avgpool", nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1}));
  fc1 = register_module("fc1", nn::make<nn::Conv2d>(channels, squeeze, o, gen));
  fc2 = register_module("fc2", nn::make<nn::Conv2d>(squeeze, channels, o, gen));
  activation = register_module("activation", nn::make<nn::Act>(act));
  scale_activation = register_module("scale_activation", nn::make<nn::Act>(scale_act));
}

Tensor SqueezeExcitation::forward(const Tensor& x) {
  Tensor scale = (*scale_activation)((*fc2)((*activation)((*fc1)((*avgpool)(x)))));
  return nn::mul(x, scale);
}

Shape SqueezeExcitation::trace(ShapeTracer& t, const Shape& in) {
  Shape s = t.chain(*this, {"avgpool", "fc1", "activation", "fc2", "scale_activation"}, in);
  HEMO_CHECK(s[1] == in[1], "summary: squeeze-excitation changes the channel count");
  return in;
}

InvertedResidualV3::InvertedResidualV3(const BneckConfig& c, Generator& gen)
    : use_res_connect(c.stride == 1 && c.in == c.out) {
  const Activation act = c.hardswish ? Activation::hardswish : Activation::relu;
  block = nn::make<nn::Sequential>();
  if (c.expanded != c.in) block->push_back(conv_norm_act(c.in, c.expanded, 1, 1, 1, act, kBn, gen));
  block->push_back(conv_norm_act(c.expanded, c.expanded, c.kernel, c.stride, c.expanded, act, kBn, gen));
  if (c.se) block->push_back(nn::make<SqueezeExcitation>(c.expanded, make_divisible(static_cast<double>(c.expanded / 4), 8), gen));
  block->push_back(conv_norm_act(c.expanded, c.out, 1, 1, 1, std::nullopt, kBn, gen));
  register_module("block", block);
}

Tensor InvertedResidualV3::forward(const Tensor& x) {
  Tensor y = (*block)(x);
  return use_res_connect ? nn::add(y, x) : y;
}

Shape InvertedResidualV3::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.child(*this, "block", in);
  HEMO_CHECK(!use_res_connect || y == in, "summary: residual shapes differ");
  return y;
}

MobileNetV3::MobileNetV3(bool large, int64_t num_classes, double dropout, Generator& gen) {
  const auto& cfg = settings(large);
  features = nn::make<nn::Sequential>();
  features->push_back(conv_norm_act(3, cfg.front().in, 3, 2, 1, Activation::hardswish, kBn, gen));
  for (const auto& c : cfg) features->push_back(nn::make<InvertedResidualV3>(c, gen));
  const int64_t last_conv = 6 * cfg.back().out, last_channel = large ? 1280 : 1024;
  features->push_back(conv_norm_act(cfg.back().out, last_conv, 1, 1, 1, Activation::hardswish, kBn, gen));
  avgpool = nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1});
  classifier = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Linear>(last_conv, last_channel, true, gen), nn::make<nn::Act>(Activation::hardswish),
      nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(last_channel, num_classes, true, gen)});
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
  init_convs_kaiming_fan_out(*this, gen);
  init_linears_normal(*this, gen, 0.01);
}

Tensor MobileNetV3::forward(const Tensor& x) {
  Tensor y = (*avgpool)((*features)(x));
  return (*classifier)(y.flatten(1));
}

Shape MobileNetV3::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"features", "avgpool"}, in);
  return t.child(*this, "classifier", {y[0], shape_numel(y) / y[0]});
}

int64_t MobileNetV3::last_feature_index(bool large) { return static_cast<int64_t>(settings(large).size()) + 1; }

}  // namespace hemo::models
