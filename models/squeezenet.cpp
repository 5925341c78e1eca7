#include "models/squeezenet.h"

#include <vector>

#include "models/blocks.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_concat.h"

namespace hemo::models {

namespace {
nn::ModulePtr conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, Generator& gen) {
  return square_conv(in, out, k, stride, pad, true, gen);
}
nn::ModulePtr pool() { return nn::make<nn::MaxPool2d>(nn::Pair{3, 3}, nn::Pair{2, 2}, nn::Pair{0, 0}, true); }
nn::ModulePtr fire(int64_t in, int64_t s, int64_t e1, int64_t e3, Generator& gen) {
  return nn::make<Fire>(in, s, e1, e3, gen);
}
}  // namespace

Fire::Fire(int64_t in, int64_t squeeze, int64_t expand1x1, int64_t expand3x3, Generator& gen) {
  squeeze_ = register_module("squeeze", conv(in, squeeze, 1, 1, 0, gen));
  squeeze_activation = register_module("squeeze_activation", relu());
  expand1x1_ = register_module("expand1x1", conv(squeeze, expand1x1, 1, 1, 0, gen));
  expand1x1_activation = register_module("expand1x1_activation", relu());
  expand3x3_ = register_module("expand3x3", conv(squeeze, expand3x3, 3, 1, 1, gen));
  expand3x3_activation = register_module("expand3x3_activation", relu());
}

Tensor Fire::forward(const Tensor& x) {
  const Tensor s = (*squeeze_activation)((*squeeze_)(x));
  return nn::concat_channels({(*expand1x1_activation)((*expand1x1_)(s)), (*expand3x3_activation)((*expand3x3_)(s))});
}

Shape Fire::trace(ShapeTracer& t, const Shape& in) {
  const Shape s = t.chain(*this, {"squeeze", "squeeze_activation"}, in);
  Shape a = t.chain(*this, {"expand1x1", "expand1x1_activation"}, s);
  const Shape b = t.chain(*this, {"expand3x3", "expand3x3_activation"}, s);
  a[1] += b[1];
  return a;
}

SqueezeNet::SqueezeNet(const std::string& version, int64_t num_classes, double dropout, Generator& gen) {
  std::vector<nn::ModulePtr> f;
  if (version == "1_0") {
    f = {conv(3, 96, 7, 2, 0, gen),       relu(),
         pool(),                          fire(96, 16, 64, 64, gen),
         fire(128, 16, 64, 64, gen),      fire(128, 32, 128, 128, gen),
         pool(),                          fire(256, 32, 128, 128, gen),
         fire(256, 48, 192, 192, gen),    fire(384, 48, 192, 192, gen),
         fire(384, 64, 256, 256, gen),    pool(),
         fire(512, 64, 256, 256, gen)};
  } else if (version == "1_1") {
    f = {conv(3, 64, 3, 2, 0, gen),       relu(),
         pool(),                          fire(64, 16, 64, 64, gen),
         fire(128, 16, 64, 64, gen),      pool(),
         fire(128, 32, 128, 128, gen),    fire(256, 32, 128, 128, gen),
         pool(),                          fire(256, 48, 192, 192, gen),
         fire(384, 48, 192, 192, gen),    fire(384, 64, 256, 256, gen),
         fire(512, 64, 256, 256, gen)};
  } else {
    throw Error(cat("SqueezeNet: version must be 1_0 or 1_1, got ", version));
  }
  features = nn::make<nn::Sequential>(f);
  auto head = conv(512, num_classes, 1, 1, 0, gen);
  classifier = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Dropout>(dropout), head, relu(), nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1})});
  register_module("features", features);
  register_module("classifier", classifier);
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : named_modules()) {
    auto* c = dynamic_cast<nn::Conv2d*>(m);
    if (!c) continue;
    if (m == head.get())
      nn::normal_(c->weight, gen, 0, 0.01);
    else
      nn::kaiming_uniform_(c->weight, gen);
    nn::constant_(c->bias, 0);
  }
}

Tensor SqueezeNet::forward(const Tensor& x) { return (*classifier)((*features)(x)).flatten(1); }

Shape SqueezeNet::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.chain(*this, {"features", "classifier"}, in);
  return {y[0], shape_numel(y) / y[0]};
}

}  // namespace hemo::models
