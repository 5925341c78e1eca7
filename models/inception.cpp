#include "models/inception.h"

#include <utility>

#include "models/googlenet.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_concat.h"
#include "nn/ops_pool.h"

namespace hemo::models {

namespace {
using nn::Pair;
using Branch = InceptionV3Block::Branch;

nn::ModulePtr bc(int64_t in, int64_t out, Pair k, Pair stride, Pair pad, Generator& gen) {
  return nn::make<BasicConv2d>(in, out, k, stride, pad, gen);
}
nn::ModulePtr bc1(int64_t in, int64_t out, Generator& gen) { return bc(in, out, {1, 1}, {1, 1}, {0, 0}, gen); }
nn::ModulePtr avg_pool() { return nn::make<nn::AvgPool2d>(Pair{3, 3}, Pair{1, 1}, Pair{1, 1}); }
nn::ModulePtr max_pool() { return nn::make<nn::MaxPool2d>(Pair{3, 3}, Pair{2, 2}); }
constexpr Pair k1x7{1, 7}, k7x1{7, 1}, p1x7{0, 3}, p7x1{3, 0}, one{1, 1}, two{2, 2}, none{0, 0};

std::shared_ptr<InceptionV3Block> block_a(int64_t in, int64_t pool_features, Generator& gen) {
  auto b = nn::make<InceptionV3Block>(
      "InceptionA", std::vector<Branch>{{{"branch1x1"}, {}},
                                        {{"branch5x5_1", "branch5x5_2"}, {}},
                                        {{"branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"}, {}},
                                        {{"pool", "branch_pool"}, {}}});
  b->add("branch1x1", bc1(in, 64, gen));
  b->add("branch5x5_1", bc1(in, 48, gen));
  b->add("branch5x5_2", bc(48, 64, {5, 5}, one, two, gen));
  b->add("branch3x3dbl_1", bc1(in, 64, gen));
  b->add("branch3x3dbl_2", bc(64, 96, {3, 3}, one, one, gen));
  b->add("branch3x3dbl_3", bc(96, 96, {3, 3}, one, one, gen));
  b->add("pool", avg_pool());
  b->add("branch_pool", bc1(in, pool_features, gen));
  return b;
}

std::shared_ptr<InceptionV3Block> block_b(int64_t in, Generator& gen) {
  auto b = nn::make<InceptionV3Block>(
      "InceptionB", std::vector<Branch>{{{"branch3x3"}, {}},
                                        {{"branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"}, {}},
                                        {{"maxpool"}, {}}});
  b->add("branch3x3", bc(in, 384, {3, 3}, two, none, gen));
  b->add("branch3x3dbl_1", bc1(in, 64, gen));
  b->add("branch3x3dbl_2", bc(64, 96, {3, 3}, one, one, gen));
  b->add("branch3x3dbl_3", bc(96, 96, {3, 3}, two, none, gen));
  b->add("maxpool", max_pool());
  return b;
}

std::shared_ptr<InceptionV3Block> block_c(int64_t in, int64_t c7, Generator& gen) {
  auto b = nn::make<InceptionV3Block>(
      "InceptionC",
      std::vector<Branch>{{{"branch1x1"}, {}},
                          {{"branch7x7_1", "branch7x7_2", "branch7x7_3"}, {}},
                          {{"branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"}, {}},
                          {{"pool", "branch_pool"}, {}}});
  b->add("branch1x1", bc1(in, 192, gen));
  b->add("branch7x7_1", bc1(in, c7, gen));
  b->add("branch7x7_2", bc(c7, c7, k1x7, one, p1x7, gen));
  b->add("branch7x7_3", bc(c7, 192, k7x1, one, p7x1, gen));
  b->add("branch7x7dbl_1", bc1(in, c7, gen));
  b->add("branch7x7dbl_2", bc(c7, c7, k7x1, one, p7x1, gen));
  b->add("branch7x7dbl_3", bc(c7, c7, k1x7, one, p1x7, gen));
  b->add("branch7x7dbl_4", bc(c7, c7, k7x1, one, p7x1, gen));
  b->add("branch7x7dbl_5", bc(c7, 192, k1x7, one, p1x7, gen));
  b->add("pool", avg_pool());
  b->add("branch_pool", bc1(in, 192, gen));
  return b;
}

std::shared_ptr<InceptionV3Block> block_d(int64_t in, Generator& gen) {
  auto b = nn::make<InceptionV3Block>(
      "InceptionD",
      std::vector<Branch>{{{"branch3x3_1", "branch3x3_2"}, {}},
                          {{"branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"}, {}},
                          {{"maxpool"}, {}}});
  b->add("branch3x3_1", bc1(in, 192, gen));
  b->add("branch3x3_2", bc(192, 320, {3, 3}, two, none, gen));
  b->add("branch7x7x3_1", bc1(in, 192, gen));
  b->add("branch7x7x3_2", bc(192, 192, k1x7, one, p1x7, gen));
  b->add("branch7x7x3_3", bc(192, 192, k7x1, one, p7x1, gen));
  b->add("branch7x7x3_4", bc(192, 192, {3, 3}, two, none, gen));
  b->add("maxpool", max_pool());
  return b;
}

std::shared_ptr<InceptionV3Block> block_e(int64_t in, Generator& gen) {
  auto b = nn::make<InceptionV3Block>(
      "InceptionE", std::vector<Branch>{{{"branch1x1"}, {}},
                                        {{"branch3x3_1"}, {"branch3x3_2a", "branch3x3_2b"}},
                                        {{"branch3x3dbl_1", "branch3x3dbl_2"}, {"branch3x3dbl_3a", "branch3x3dbl_3b"}},
                                        {{"pool", "branch_pool"}, {}}});
  b->add("branch1x1", bc1(in, 320, gen));
  b->add("branch3x3_1", bc1(in, 384, gen));
  b->add("branch3x3_2a", bc(384, 384, {1, 3}, one, {0, 1}, gen));
  b->add("branch3x3_2b", bc(384, 384, {3, 1}, one, {1, 0}, gen));
  b->add("branch3x3dbl_1", bc1(in, 448, gen));
  b->add("branch3x3dbl_2", bc(448, 384, {3, 3}, one, one, gen));
  b->add("branch3x3dbl_3a", bc(384, 384, {1, 3}, one, {0, 1}, gen));
  b->add("branch3x3dbl_3b", bc(384, 384, {3, 1}, one, {1, 0}, gen));
  b->add("pool", avg_pool());
  b->add("branch_pool", bc1(in, 192, gen));
  return b;
}
}  // namespace

Tensor InceptionV3Block::forward(const Tensor& x) {
  std::vector<Tensor> outs;
  for (const Branch& b : branches_) {
    Tensor y = x;
    for (const std::string& name : b.chain) y = (*find(name))(y);
    if (!b.split.empty()) {
      std::vector<Tensor> parts;
      for (const std::string& name : b.split) parts.push_back((*find(name))(y));
      y = nn::concat_channels(parts);
    }
    outs.push_back(y);
  }
  return nn::concat_channels(outs);
}

Shape InceptionV3Block::trace(ShapeTracer& t, const Shape& in) {
  Shape out;
  for (const Branch& b : branches_) {
    Shape y = t.chain(*this, b.chain, in);
    if (!b.split.empty()) {
      Shape joined = t.child(*this, b.split[0], y);
      for (size_t i = 1; i < b.split.size(); ++i) joined[1] += t.child(*this, b.split[i], y)[1];
      y = joined;
    }
    if (out.empty()) out = y;
    else out[1] += y[1];
  }
  return out;
}

InceptionAuxV3::InceptionAuxV3(int64_t in, int64_t num_classes, Generator& gen) {
  register_module("conv0", bc1(in, 128, gen));
  register_module("conv1", bc(128, 768, {5, 5}, one, none, gen));
  register_module("fc", nn::make<nn::Linear>(768, num_classes, true, gen));
}

Tensor InceptionAuxV3::forward(const Tensor& x) {
  Tensor y = nn::avg_pool2d(x, {5, 5}, {3, 3});
  y = (*find("conv1"))((*find("conv0"))(y));
  return (*find("fc"))(nn::adaptive_avg_pool2d(y, {1, 1}).flatten(1));
}

Shape InceptionAuxV3::trace(ShapeTracer& t, const Shape& in) {
  Shape p = in;
  for (size_t i = 2; i < 4; ++i) p[i] = (in[i] - 5) / 3 + 1;
  const Shape y = t.chain(*this, {"conv0", "conv1"}, p);
  return t.child(*this, "fc", {y[0], y[1]});
}

const std::vector<std::string>& InceptionV3::main_path() {
  static const std::vector<std::string> path = {
      "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
      "Mixed_5b",      "Mixed_5c",      "Mixed_5d",      "Mixed_6a", "Mixed_6b",      "Mixed_6c",      "Mixed_6d",
      "Mixed_6e",      "Mixed_7a",      "Mixed_7b",      "Mixed_7c", "avgpool"};
  return path;
}

InceptionV3::InceptionV3(int64_t num_classes, double dropout, Generator& gen) {
  register_module("Conv2d_1a_3x3", bc(3, 32, {3, 3}, two, none, gen));
  register_module("Conv2d_2a_3x3", bc(32, 32, {3, 3}, one, none, gen));
  register_module("Conv2d_2b_3x3", bc(32, 64, {3, 3}, one, one, gen));
  register_module("maxpool1", max_pool());
  register_module("Conv2d_3b_1x1", bc1(64, 80, gen));
  register_module("Conv2d_4a_3x3", bc(80, 192, {3, 3}, one, none, gen));
  register_module("maxpool2", max_pool());
  register_module("Mixed_5b", block_a(192, 32, gen));
  register_module("Mixed_5c", block_a(256, 64, gen));
  register_module("Mixed_5d", block_a(288, 64, gen));
  register_module("Mixed_6a", block_b(288, gen));
  register_module("Mixed_6b", block_c(768, 128, gen));
  register_module("Mixed_6c", block_c(768, 160, gen));
  register_module("Mixed_6d", block_c(768, 160, gen));
  register_module("Mixed_6e", block_c(768, 192, gen));
  register_module("AuxLogits", nn::make<InceptionAuxV3>(768, num_classes, gen));
  register_module("Mixed_7a", block_d(768, gen));
  register_module("Mixed_7b", block_e(1280, gen));
  register_module("Mixed_7c", block_e(2048, gen));
  register_module("avgpool", nn::make<nn::AdaptiveAvgPool2d>(Pair{1, 1}));
  register_module("dropout", nn::make<nn::Dropout>(dropout));
  register_module("fc", nn::make<nn::Linear>(2048, num_classes, true, gen));
  if (!nn::init_enabled()) return;
  for (auto& [name, m] : named_modules()) {
    // torchvision marks AuxLogits.conv1 with stddev 0.01, but on the BasicConv2d, which its loop
    // (over Conv2d and Linear) never looks at: only AuxLogits.fc gets its own (0.001).
    const double stddev = name == "AuxLogits.fc" ? 0.001 : 0.1;
    if (auto* cv = dynamic_cast<nn::Conv2d*>(m)) nn::trunc_normal_(cv->weight, gen, 0, stddev);
    if (auto* fc = dynamic_cast<nn::Linear*>(m)) nn::trunc_normal_(fc->weight, gen, 0, stddev);
  }
}

Tensor InceptionV3::forward(const Tensor& x) {
  aux_.clear();
  Tensor y = x;
  for (const std::string& name : main_path()) {
    y = (*find(name))(y);
    if (name == "Mixed_6e" && is_training() && find("AuxLogits"))
      aux_.emplace_back(kAuxWeight, (*find("AuxLogits"))(y));
  }
  return (*find("fc"))((*find("dropout"))(y).flatten(1));
}

Shape InceptionV3::trace(ShapeTracer& t, const Shape& in) {
  const Shape y = t.chain(*this, main_path(), in);  // the evaluation path, as GoogLeNet's
  return t.chain(*this, {"dropout", "fc"}, {y[0], y[1] * y[2] * y[3]});
}

std::vector<std::pair<double, Tensor>> InceptionV3::take_aux_logits() { return std::exchange(aux_, {}); }

void InceptionV3::remove_aux_classifiers() {
  if (find("AuxLogits")) remove_child("AuxLogits");
}

}  // namespace hemo::models
