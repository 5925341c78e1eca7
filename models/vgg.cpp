#include "models/vgg.h"

#include <vector>

#include "models/blocks.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {
constexpr int64_t M = 0;  // a 2x2 max-pool in a configuration

// torchvision's cfgs "A", "B", "D", "E": output channels of each 3x3 convolution, M for a pool.
const std::vector<int64_t>& config(int depth) {
  static const std::vector<int64_t> a{64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  static const std::vector<int64_t> b{64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  static const std::vector<int64_t> d{64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
  static const std::vector<int64_t> e{64,  64,  M,   128, 128, M,   256, 256, 256, 256, M,
                                      512, 512, 512, 512, M,   512, 512, 512, 512, M};
  switch (depth) {
    case 11: return a;
    case 13: return b;
    case 16: return d;
    case 19: return e;
  }
  throw Error(cat("VGG: depth must be 11, 13, 16 or 19, got ", depth));
}
}  // namespace

VGG::VGG(int depth, bool batch_norm, int64_t num_classes, double dropout, Generator& gen) {
  features = nn::make<nn::Sequential>();
  int64_t in = 3;
  for (int64_t v : config(depth)) {
    if (v == M) {
      features->push_back(nn::make<nn::MaxPool2d>(nn::Pair{2, 2}, nn::Pair{2, 2}));
      continue;
    }
    nn::Conv2d::Options o;
    o.padding = {1, 1};
    features->push_back(nn::make<nn::Conv2d>(in, v, o, gen));
    if (batch_norm) features->push_back(nn::make<nn::BatchNorm2d>(v));
    features->push_back(nn::make<nn::Act>(Activation::relu));
    in = v;
  }
  avgpool = nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{7, 7});
  classifier = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Linear>(512 * 7 * 7, 4096, true, gen), nn::make<nn::Act>(Activation::relu),
      nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(4096, 4096, true, gen), nn::make<nn::Act>(Activation::relu),
      nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(4096, num_classes, true, gen)});
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
  init_convs_kaiming_fan_out(*this, gen);
  init_linears_normal(*this, gen, 0.01);
}

Tensor VGG::forward(const Tensor& x) {
  Tensor y = (*avgpool)((*features)(x));
  return (*classifier)(y.flatten(1));
}

Shape VGG::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"features", "avgpool"}, in);
  return t.child(*this, "classifier", {y[0], shape_numel(y) / y[0]});
}

std::string VGG::last_activation(int depth, bool batch_norm) {
  const auto& cfg = config(depth);
  int64_t index = -1, last_relu = -1;
  for (int64_t v : cfg) {
    if (v == M) {
      ++index;
    } else {
      index += batch_norm ? 3 : 2;
      last_relu = index;
    }
  }
  return cat("features.", last_relu);
}

}  // namespace hemo::models
