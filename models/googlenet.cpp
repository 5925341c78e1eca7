#include "models/googlenet.h"

#include <utility>
#include <vector>

#include "nn/fusion.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_activation.h"
#include "nn/ops_concat.h"
#include "nn/ops_pool.h"

namespace hemo::models {

namespace {
// The main path, in forward order; aux1 and aux2 branch off after inception4a and inception4d.
const std::vector<std::string> kMainPath = {"conv1",       "maxpool1",    "conv2",       "conv3",       "maxpool2",
                                            "inception3a", "inception3b", "maxpool3",    "inception4a", "inception4b",
                                            "inception4c", "inception4d", "inception4e", "maxpool4",    "inception5a",
                                            "inception5b", "avgpool"};

nn::ModulePtr basic(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, Generator& gen) {
  return nn::make<BasicConv2d>(in, out, nn::Pair{k, k}, nn::Pair{stride, stride}, nn::Pair{pad, pad}, gen);
}
nn::ModulePtr max_pool(int64_t k, int64_t stride, int64_t pad) {
  return nn::make<nn::MaxPool2d>(nn::Pair{k, k}, nn::Pair{stride, stride}, nn::Pair{pad, pad}, true);
}
}  // namespace

BasicConv2d::BasicConv2d(int64_t in, int64_t out, nn::Pair kernel, nn::Pair stride, nn::Pair pad, Generator& gen,
                         double bn_eps) {
  nn::Conv2d::Options o;
  o.kernel = kernel, o.stride = stride, o.padding = pad, o.bias = false;
  register_module("conv", nn::make<nn::Conv2d>(in, out, o, gen));
  register_module("bn", nn::make<nn::BatchNorm2d>(out, bn_eps));
}

Tensor BasicConv2d::forward(const Tensor& x) {
  return nn::conv_bn_act(*child(0), *child(1), Activation::relu, x);  // relu(bn(conv(x))), fused (nn/fusion.h)
}

Shape BasicConv2d::trace(ShapeTracer& t, const Shape& in) { return t.chain(*this, {"conv", "bn"}, in); }

Inception::Inception(int64_t in, int64_t c1, int64_t r3, int64_t c3, int64_t r5, int64_t c5, int64_t pool_proj,
                     Generator& gen) {
  register_module("branch1", basic(in, c1, 1, 1, 0, gen));
  register_module("branch2", nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{basic(in, r3, 1, 1, 0, gen),
                                                                                 basic(r3, c3, 3, 1, 1, gen)}));
  register_module("branch3", nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{basic(in, r5, 1, 1, 0, gen),
                                                                                 basic(r5, c5, 3, 1, 1, gen)}));
  register_module("branch4", nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{max_pool(3, 1, 1),
                                                                                 basic(in, pool_proj, 1, 1, 0, gen)}));
}

Tensor Inception::forward(const Tensor& x) {
  std::vector<Tensor> branches;
  for (const auto& [name, b] : named_children()) branches.push_back((*b)(x));
  return nn::concat_channels(branches);
}

Shape Inception::trace(ShapeTracer& t, const Shape& in) {
  Shape out = t.child(*this, "branch1", in);
  for (const char* b : {"branch2", "branch3", "branch4"}) out[1] += t.child(*this, b, in)[1];
  return out;
}

InceptionAux::InceptionAux(int64_t in, int64_t num_classes, double dropout, Generator& gen) {
  register_module("conv", basic(in, 128, 1, 1, 0, gen));
  register_module("fc1", nn::make<nn::Linear>(2048, 1024, true, gen));
  register_module("fc2", nn::make<nn::Linear>(1024, num_classes, true, gen));
  register_module("dropout", nn::make<nn::Dropout>(dropout));
}

Tensor InceptionAux::forward(const Tensor& x) {
  const Tensor c = (*find("conv"))(nn::adaptive_avg_pool2d(x, {4, 4})).flatten(1);
  const Tensor h = (*find("dropout"))(nn::activation(Activation::relu, (*find("fc1"))(c)));
  return (*find("fc2"))(h);
}

Shape InceptionAux::trace(ShapeTracer& t, const Shape& in) {
  const Shape c = t.child(*this, "conv", {in[0], in[1], 4, 4});
  const Shape h = t.child(*this, "fc1", {c[0], c[1] * c[2] * c[3]});
  return t.chain(*this, {"dropout", "fc2"}, h);
}

GoogLeNet::GoogLeNet(int64_t num_classes, double dropout, double dropout_aux, Generator& gen) {
  register_module("conv1", basic(3, 64, 7, 2, 3, gen));
  register_module("maxpool1", max_pool(3, 2, 0));
  register_module("conv2", basic(64, 64, 1, 1, 0, gen));
  register_module("conv3", basic(64, 192, 3, 1, 1, gen));
  register_module("maxpool2", max_pool(3, 2, 0));
  register_module("inception3a", nn::make<Inception>(192, 64, 96, 128, 16, 32, 32, gen));
  register_module("inception3b", nn::make<Inception>(256, 128, 128, 192, 32, 96, 64, gen));
  register_module("maxpool3", max_pool(3, 2, 0));
  register_module("inception4a", nn::make<Inception>(480, 192, 96, 208, 16, 48, 64, gen));
  register_module("inception4b", nn::make<Inception>(512, 160, 112, 224, 24, 64, 64, gen));
  register_module("inception4c", nn::make<Inception>(512, 128, 128, 256, 24, 64, 64, gen));
  register_module("inception4d", nn::make<Inception>(512, 112, 144, 288, 32, 64, 64, gen));
  register_module("inception4e", nn::make<Inception>(528, 256, 160, 320, 32, 128, 128, gen));
  register_module("maxpool4", max_pool(2, 2, 0));
  register_module("inception5a", nn::make<Inception>(832, 256, 160, 320, 32, 128, 128, gen));
  register_module("inception5b", nn::make<Inception>(832, 384, 192, 384, 48, 128, 128, gen));
  register_module("aux1", nn::make<InceptionAux>(512, num_classes, dropout_aux, gen));
  register_module("aux2", nn::make<InceptionAux>(528, num_classes, dropout_aux, gen));
  register_module("avgpool", nn::make<nn::AdaptiveAvgPool2d>(nn::Pair{1, 1}));
  register_module("dropout", nn::make<nn::Dropout>(dropout));
  register_module("fc", nn::make<nn::Linear>(1024, num_classes, true, gen));
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : named_modules()) {
    if (auto* cv = dynamic_cast<nn::Conv2d*>(m)) nn::trunc_normal_(cv->weight, gen, 0, 0.01);
    if (auto* fc = dynamic_cast<nn::Linear*>(m)) nn::trunc_normal_(fc->weight, gen, 0, 0.01);
  }
}

Tensor GoogLeNet::forward(const Tensor& x) {
  aux_.clear();
  Tensor y = x;
  for (const std::string& name : kMainPath) {
    y = (*find(name))(y);
    if (!is_training()) continue;
    if (name == "inception4a" && find("aux1")) aux_.emplace_back(kAuxWeight, (*find("aux1"))(y));
    if (name == "inception4d" && find("aux2")) aux_.emplace_back(kAuxWeight, (*find("aux2"))(y));
  }
  return (*find("fc"))((*find("dropout"))(y.flatten(1)));
}

Shape GoogLeNet::trace(ShapeTracer& t, const Shape& in) {
  // The evaluation path: the auxiliary heads run only in training (their parameters are counted,
  // their multiply-accumulates are not, as torchvision's hooks in eval mode see it).
  const Shape y = t.chain(*this, kMainPath, in);
  return t.chain(*this, {"dropout", "fc"}, {y[0], y[1] * y[2] * y[3]});
}

std::vector<std::pair<double, Tensor>> GoogLeNet::take_aux_logits() { return std::exchange(aux_, {}); }

void GoogLeNet::remove_aux_classifiers() {
  for (const char* name : {"aux1", "aux2"})
    if (find(name)) remove_child(name);
}

}  // namespace hemo::models
