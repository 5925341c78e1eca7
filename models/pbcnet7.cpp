#include "models/pbcnet7.h"

#include <array>

#include "kernels/pooling.h"
#include "models/blocks.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {
constexpr std::array<int64_t, 7> kFilters{32, 64, 64, 64, 128, 256, 256};
constexpr int64_t kHidden = 128;
}  // namespace

int64_t PBCNet7::feature_side(int64_t input_size, int64_t pool_stride) {
  HEMO_CHECK(pool_stride >= 1, "pbcnet7: pool stride must be at least 1, got ", pool_stride);
  HEMO_CHECK(input_size >= 1, "pbcnet7: the input size must be positive, got ", input_size);
  int64_t side = input_size;
  for (size_t b = 0; b < kFilters.size(); ++b) {
    side = pool_output_size(side, 2, pool_stride, 0, true);  // a ceil-mode window may overhang, as in torch
    HEMO_CHECK(side >= 1, "pbcnet7: input ", input_size, " is too small for seven 2x2 pools of stride ", pool_stride);
  }
  return side;
}

PBCNet7::PBCNet7(int64_t num_classes, int64_t input_size, int64_t pool_stride, double dropout, Generator& gen) {
  const int64_t side = feature_side(input_size, pool_stride);
  features = nn::make<nn::Sequential>();
  int64_t in = 3;
  for (int64_t out : kFilters) {
    nn::Conv2d::Options o;
    o.padding = {1, 1};
    features->push_back(nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
        nn::make<nn::Conv2d>(in, out, o, gen), nn::make<nn::Act>(Activation::relu),
        nn::make<nn::MaxPool2d>(nn::Pair{2, 2}, nn::Pair{pool_stride, pool_stride}, nn::Pair{0, 0}, true),
        nn::make<nn::Dropout>(dropout)}));
    in = out;
  }
  classifier = nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{
      nn::make<nn::Linear>(kFilters.back() * side * side, kHidden, true, gen), nn::make<nn::Act>(Activation::relu),
      nn::make<nn::Linear>(kHidden, num_classes, true, gen)});
  register_module("features", features);
  register_module("classifier", classifier);
  init_convs_kaiming_fan_out(*this, gen);
}

Tensor PBCNet7::forward(const Tensor& x) { return (*classifier)((*features)(x).flatten(1)); }

Shape PBCNet7::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.child(*this, "features", in);
  return t.child(*this, "classifier", {y[0], shape_numel(y) / y[0]});
}

}  // namespace hemo::models
