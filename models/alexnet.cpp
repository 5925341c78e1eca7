#include "models/alexnet.h"

#include <vector>

#include "models/blocks.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {
nn::ModulePtr conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, Generator& gen) {
  return square_conv(in, out, k, stride, pad, true, gen);
}
nn::ModulePtr pool() { return nn::make<nn::MaxPool2d>(nn::Pair{3, 3}, nn::Pair{2, 2}); }
}  // namespace

AlexNet::AlexNet(int64_t num_classes, double dropout, Generator& gen) {
  features = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      conv(3, 64, 11, 4, 2, gen), relu(), pool(), conv(64, 192, 5, 1, 2, gen), relu(), pool(),
      conv(192, 384, 3, 1, 1, gen), relu(), conv(384, 256, 3, 1, 1, gen), relu(), conv(256, 256, 3, 1, 1, gen), relu(),
      pool()});
  avgpool = nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{6, 6});
  classifier = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(256 * 6 * 6, 4096, true, gen), relu(),
      nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(4096, 4096, true, gen), relu(),
      nn::make<nn::Linear>(4096, num_classes, true, gen)});
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
}

Tensor AlexNet::forward(const Tensor& x) {
  Tensor y = (*avgpool)((*features)(x));
  return (*classifier)(y.flatten(1));
}

Shape AlexNet::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.chain(*this, {"features", "avgpool"}, in);
  return t.child(*this, "classifier", {y[0], shape_numel(y) / y[0]});
}

}  // namespace hemo::models
