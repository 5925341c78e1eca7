#include "models/convnext.h"

#include <vector>

#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_conv.h"
#include "nn/ops_elementwise.h"

namespace hemo::models {

namespace {
constexpr double kNormEps = 1e-6;

nn::ModulePtr conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t groups, Generator& gen) {
  nn::Conv2d::Options o;
  o.kernel = {k, k}, o.stride = {stride, stride}, o.padding = {pad, pad}, o.groups = groups;
  return nn::make<nn::Conv2d>(in, out, o, gen);
}
nn::ModulePtr norm(int64_t c) { return nn::make<nn::LayerNorm>(c, kNormEps); }
nn::ModulePtr channel_linear(int64_t in, int64_t out, Generator& gen) {
  auto fc = nn::make<nn::Linear>(in, out, true, gen);
  fc->over_channels = true;
  return fc;
}

struct Stage {
  int64_t channels, out_channels, blocks;  // out_channels 0: no downsample after it
};
struct Config {
  std::vector<Stage> stages;
  double stochastic_depth;
};
Config config(const std::string& variant) {
  if (variant == "tiny") return {{{96, 192, 3}, {192, 384, 3}, {384, 768, 9}, {768, 0, 3}}, 0.1};
  if (variant == "small") return {{{96, 192, 3}, {192, 384, 3}, {384, 768, 27}, {768, 0, 3}}, 0.4};
  if (variant == "base") return {{{128, 256, 3}, {256, 512, 3}, {512, 1024, 27}, {1024, 0, 3}}, 0.5};
  throw Error(cat("ConvNeXt: variant must be tiny, small or base, got ", variant));
}
}  // namespace

CNBlock::CNBlock(int64_t d, double layer_scale_init, double stochastic_depth_prob, Generator& gen) : dim(d) {
  layer_scale = Tensor::full({d, 1, 1}, layer_scale_init);
  register_parameter("layer_scale", &layer_scale);
  block = nn::make<nn::Sequential>(std::vector<std::pair<std::string, nn::ModulePtr>>{
      {"0", conv(d, d, 7, 1, 3, d, gen)},
      {"2", norm(d)},
      {"3", channel_linear(d, 4 * d, gen)},
      {"4", nn::make<nn::Act>(Activation::gelu)},
      {"5", channel_linear(4 * d, d, gen)}});
  register_module("block", block);
  stochastic_depth = register_module("stochastic_depth", nn::make<nn::StochasticDepth>(stochastic_depth_prob));
}

Tensor CNBlock::forward(const Tensor& x) {
  // layer_scale per channel: a depthwise 1x1 convolution with the [dim, 1, 1] parameter as its weight.
  const Tensor scaled = nn::conv2d((*block)(x), layer_scale.reshape({dim, 1, 1, 1}), Tensor(), {1, 1}, {0, 0}, {1, 1}, dim);
  return nn::add((*stochastic_depth)(scaled), x);
}

Shape CNBlock::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.child(*this, "block", in);
  return t.child(*this, "stochastic_depth", y);
}

ConvNeXt::ConvNeXt(const std::string& variant, int64_t num_classes, double stochastic_depth, Generator& gen) {
  const Config cfg = config(variant);
  const double p_max = stochastic_depth >= 0 ? stochastic_depth : cfg.stochastic_depth;
  int64_t total = 0;
  for (const Stage& s : cfg.stages) total += s.blocks;
  const int64_t c0 = cfg.stages.front().channels;
  features = nn::make<nn::Sequential>();
  features->push_back(nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{conv(3, c0, 4, 4, 0, 1, gen), norm(c0)}));
  int64_t j = 0;
  for (const Stage& s : cfg.stages) {
    auto stage = nn::make<nn::Sequential>();
    for (int64_t b = 0; b < s.blocks; ++b, ++j)
      stage->push_back(
          nn::make<CNBlock>(s.channels, 1e-6, p_max * static_cast<double>(j) / (static_cast<double>(total) - 1.0), gen));
    features->push_back(stage);
    if (s.out_channels > 0)
      features->push_back(
          nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{norm(s.channels), conv(s.channels, s.out_channels, 2, 2, 0, 1, gen)}));
  }
  const int64_t last = cfg.stages.back().channels;
  avgpool = nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1});
  classifier = nn::make<nn::Sequential>(
      std::vector<nn::ModulePtr>{norm(last), nn::make<nn::Flatten>(), nn::make<nn::Linear>(last, num_classes, true, gen)});
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : named_modules()) {
    if (auto* cv = dynamic_cast<nn::Conv2d*>(m)) {
      nn::trunc_normal_(cv->weight, gen, 0, 0.02);
      if (cv->bias.defined()) nn::constant_(cv->bias, 0);
    }
    if (auto* fc = dynamic_cast<nn::Linear*>(m)) {
      nn::trunc_normal_(fc->weight, gen, 0, 0.02);
      if (fc->bias.defined()) nn::constant_(fc->bias, 0);
    }
  }
}

Tensor ConvNeXt::forward(const Tensor& x) { return (*classifier)((*avgpool)((*features)(x))); }

Shape ConvNeXt::trace(ShapeTracer& t, const Shape& in) {
  return t.chain(*this, {"features", "avgpool", "classifier"}, in);
}

}  // namespace hemo::models
