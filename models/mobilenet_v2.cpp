#include "models/mobilenet_v2.h"

#include <array>
#include <cmath>

#include "models/blocks.h"
#include "nn/fusion.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_pool.h"

namespace hemo::models {

InvertedResidualV2::InvertedResidualV2(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, Generator& gen)
    : use_res_connect(stride == 1 && in == out) {
  const int64_t hidden = in * expand_ratio;
  conv = nn::make<nn::Sequential>();
  if (expand_ratio != 1) conv->push_back(conv_norm_act(in, hidden, 1, 1, 1, Activation::relu6, {}, gen));
  conv->push_back(conv_norm_act(hidden, hidden, 3, stride, hidden, Activation::relu6, {}, gen));
  nn::Conv2d::Options o;
  o.kernel = {1, 1};
  o.bias = false;
  conv->push_back(nn::make<nn::Conv2d>(hidden, out, o, gen));
  conv->push_back(nn::make<nn::BatchNorm2d>(out));
  register_module("conv", conv);
}

// With the residual, conv's last convolution, its batch norm and the addition run as one op
// (nn::conv_bn_add, or nn::bn_add when the forward records gradients): conv's other children in
// order, then the fused ones, unless `conv` itself carries a hook (which must see conv's own
// output).
Tensor InvertedResidualV2::forward(const Tensor& x) {
  if (!use_res_connect) return (*conv)(x);
  if (conv->has_forward_hooks()) return nn::add(x, (*conv)(x));
  const size_t last = conv->size() - 1;
  return nn::conv_bn_add(*(*conv)[last - 1], *(*conv)[last], conv->forward_range(0, last - 1, x), x);
}

Shape InvertedResidualV2::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.child(*this, "conv", in);
  HEMO_CHECK(!use_res_connect || y == in, "summary: residual shapes differ");
  return y;
}

MobileNetV2::MobileNetV2(int64_t num_classes, double dropout, Generator& gen) {
  // t (expansion), c (output channels), n (blocks), s (first block's stride): torchvision's table.
  static constexpr std::array<std::array<int64_t, 4>, 7> settings{{
      {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}}};
  features = nn::make<nn::Sequential>();
  int64_t in = 32;
  features->push_back(conv_norm_act(3, in, 3, 2, 1, Activation::relu6, {}, gen));
  for (const auto& [t, c, n, s] : settings) {
    for (int64_t i = 0; i < n; ++i) {
      features->push_back(nn::make<InvertedResidualV2>(in, c, i == 0 ? s : 1, t, gen));
      in = c;
    }
  }
  const int64_t last = 1280;
  features->push_back(conv_norm_act(in, last, 1, 1, 1, Activation::relu6, {}, gen));
  classifier = nn::make<nn::Sequential>(
      std::vector<nn::ModulePtr>{nn::make<nn::Dropout>(dropout), nn::make<nn::Linear>(last, num_classes, true, gen)});
  register_module("features", features);
  register_module("classifier", classifier);
  init_convs_kaiming_fan_out(*this, gen);
  init_linears_normal(*this, gen, 0.01);
}

Tensor MobileNetV2::forward(const Tensor& x) {
  Tensor y = nn::adaptive_avg_pool2d((*features)(x), {1, 1});
  return (*classifier)(y.flatten(1));
}

Shape MobileNetV2::trace(ShapeTracer& t, const Shape& in) {
  Shape y = t.child(*this, "features", in);
  return t.child(*this, "classifier", {y[0], y[1]});  // after the functional global average pool
}

}  // namespace hemo::models
