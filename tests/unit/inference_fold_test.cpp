// The inference pass of hemo-infer (models/inference.h): batch norm folded into the preceding
// convolution, dropout removed, no autograd state. A folded model must compute what the unfolded
// one computes in eval mode, for every structure of the zoo.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/aux_classifiers.h"
#include "models/inference.h"
#include "models/registry.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/ops_softmax.h"
#include "nn/state_dict.h"
#include "tests/support/compare.h"
#include "tests/support/model_fixtures.h"
#include "tests/support/random.h"
#include "tensor/autograd.h"

using namespace hemo;

namespace {

// Gives every batch norm non-trivial statistics and affine parameters (a fresh one is nearly the
// identity, which would let a wrong fold pass): for a single layer.
void randomize_batchnorms(nn::Module& model, uint64_t seed) {
  Generator g(seed);
  for (auto& [name, m] : model.named_modules()) {
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(m);
    if (!bn) continue;
    NoGradGuard no_grad;
    nn::uniform_(bn->weight, g, 0.5, 1.5);
    nn::uniform_(bn->bias, g, -0.2, 0.2);
    nn::uniform_(bn->running_mean, g, -0.2, 0.2);
    nn::uniform_(bn->running_var, g, 0.5, 2.0);
  }
}

template <class M>
int64_t count_of(nn::Module& model) {
  int64_t n = 0;
  for (auto& [name, m] : model.named_modules()) n += dynamic_cast<M*>(m) != nullptr;
  return n;
}

// A model of the registry with random weights and statistics, and a copy of it (same tensors,
// separate storage) prepared for inference.
struct Pair {
  nn::ModulePtr plain, folded;
  models::InferenceReport report;
};

Pair make_pair(const std::string& name, int64_t input_size) {
  Generator gen(11);
  models::ModelOptions opt;
  opt.input_size = input_size;
  Pair p;
  p.plain = models::create_model(name, 5, opt, gen);
  test::calibrate_batchnorms(*p.plain, input_size, 12);
  opt.init_weights = false;
  p.folded = models::create_model(name, 5, opt, gen);
  nn::load_state_dict(*p.folded, p.plain->state_dict());
  p.report = models::prepare_for_inference(*p.folded);
  return p;
}

}  // namespace

TEST_CASE("fold: Conv2d.fold_batchnorm by hand") {
  // 1x1 convolution, one channel: weight 2, bias 1; batch norm gamma 3, beta 0.5, mean 1, var 3,
  // eps 1: s = 3 / sqrt(3 + 1) = 1.5, weight' = 3, bias' = 1.5 (1 - 1) + 0.5 = 0.5.
  nn::Conv2d::Options o;
  o.kernel = {1, 1};
  nn::Conv2d conv(1, 1, o);
  nn::BatchNorm2d bn(1, /*eps=*/1.0);
  {
    NoGradGuard no_grad;
    nn::constant_(conv.weight, 2);
    nn::constant_(conv.bias, 1);
    nn::constant_(bn.weight, 3);
    nn::constant_(bn.bias, 0.5);
    nn::constant_(bn.running_mean, 1);
    nn::constant_(bn.running_var, 3);
  }
  conv.fold_batchnorm(bn);
  CHECK(conv.weight.item() == 3.0);
  CHECK(conv.bias.item() == 0.5);
  CHECK(conv.weight.requires_grad());  // as before the fold
}

TEST_CASE("fold: a convolution without bias gains one; grouped convolutions fold per output channel") {
  for (int64_t groups : {1, 2, 6}) {
    CAPTURE(groups);
    nn::Conv2d::Options o;
    o.kernel = {3, 3};
    o.stride = {2, 1};
    o.padding = {1, 1};
    o.groups = groups;
    o.bias = false;
    Generator g(3);
    auto conv = nn::make<nn::Conv2d>(6, 6, o, g);
    auto bn = nn::make<nn::BatchNorm2d>(6, 1e-3);
    nn::Sequential seq({conv, bn});
    randomize_batchnorms(seq, 4);
    seq.eval();
    const Tensor x = test::random_tensor({3, 6, 7, 13}, 5, DType::f32);
    Tensor want;
    {
      NoGradGuard no_grad;
      want = seq(x);
    }
    conv->fold_batchnorm(*bn);
    REQUIRE(conv->bias.defined());
    CHECK(conv->opt.bias);
    CHECK(conv->named_parameters().size() == 2);  // the new bias is registered: state_dict sees it
    NoGradGuard no_grad;
    HEMO_CHECK_CLOSE((*conv)(x), want, 1e-5, "folded conv vs conv + bn");
  }
}

TEST_CASE("fold: every architecture of the registry loses all its batch norms (but DenseNet's pre-activation ones) and dropouts") {
  for (const std::string& name : models::model_names()) {
    CAPTURE(name);
    Generator gen(0);
    models::ModelOptions opt;
    opt.init_weights = false;  // structure only
    nn::ModulePtr m = models::create_model(name, 4, opt, gen);
    // Side heads (GoogLeNet's) leave the tree whole: count only what stays.
    auto* aux = dynamic_cast<models::AuxClassifiers*>(m.get());
    const int64_t params_before = m->parameter_count();
    if (aux) aux->remove_aux_classifiers();
    CHECK((aux != nullptr) == (m->parameter_count() < params_before));
    const int64_t bns = count_of<nn::BatchNorm2d>(*m), dropouts = count_of<nn::Dropout>(*m);
    const int64_t convs = count_of<nn::Conv2d>(*m);
    const models::InferenceReport r = models::prepare_for_inference(*m);
    CHECK(r.aux_classifiers_removed == (aux != nullptr));
    // DenseNet normalizes each layer's input (a concatenation) before a ReLU: only conv0's norm0
    // and each dense layer's norm2 follow a convolution (convolutions: conv0, two per dense
    // layer, one per transition (3)).
    const int64_t foldable = models::model_spec(name).family == "densenet" ? 1 + (convs - 4) / 2 : bns;
    CHECK(r.batchnorms_folded == foldable);
    CHECK(r.batchnorms_kept == bns - foldable);
    CHECK(r.dropouts_removed == dropouts);
    CHECK(count_of<nn::BatchNorm2d>(*m) == bns - foldable);
    CHECK(count_of<nn::Dropout>(*m) == 0);
    CHECK(count_of<nn::Conv2d>(*m) == convs);
    CHECK(!m->is_training());
    for (const auto& [pname, t] : m->named_parameters()) {
      CAPTURE(pname);
      CHECK(!t.requires_grad());
    }
  }
}

TEST_CASE("fold: folded models agree with the unfolded ones in eval mode (1e-5)") {
  // One of each structure: BasicBlock and Bottleneck with downsample, MobileNet V2 and V3 blocks
  // (depthwise, squeeze-excitation, hardswish), pbcnet7 (dropout after every block, no batch norm).
  // VGG-BN's conv, bn, relu Sequential is the same rule as the MobileNets'.
  const std::vector<std::pair<std::string, int64_t>> cases{
      {"resnet18", 48}, {"resnet50", 40}, {"mobilenet_v2", 40}, {"mobilenet_v3_small", 40}, {"pbcnet7", 40},
      {"densenet121", 32}, {"googlenet", 32}};
  for (const auto& [name, side] : cases) {
    CAPTURE(name);
    Pair p = make_pair(name, side);
    if (name != "densenet121") CHECK(p.report.batchnorms_kept == 0);
    if (name != "pbcnet7") CHECK(p.report.batchnorms_folded > 0);
    const Tensor x = test::random_tensor({2, 3, side, side}, 7, DType::f32);
    NoGradGuard no_grad;
    const Tensor want = (*p.plain)(x), got = (*p.folded)(x);
    const test::Comparison c = test::compare(got, want, 1e-5, name + " logits");
    CHECK_MESSAGE(c.ok, c.report);
    MESSAGE(c.report);
    const std::vector<float> pw = nn::softmax(want, -1).to_vector<float>();
    const std::vector<float> pg = nn::softmax(got, -1).to_vector<float>();
    double worst = 0;
    for (size_t i = 0; i < pw.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(pw[i] - pg[i])));
    CHECK_MESSAGE(worst <= 1e-5, name, ": probabilities differ by ", worst);
    MESSAGE(name, ": largest probability difference ", worst);
    // The test can fail: the logits vary with the input, and depend on the batch norms.
    CHECK(std::fabs(want.to_vector<float>()[0] - want.to_vector<float>()[5]) > 1e-4);
  }
}

TEST_CASE("fold: the prepared model records no autograd state, even with grad mode on") {
  Pair p = make_pair("mobilenet_v3_small", 40);
  REQUIRE(grad_enabled());
  int64_t outputs = 0, with_grad = 0;
  for (auto& [name, m] : p.folded->named_modules())
    m->register_forward_hook([&](nn::Module&, const Tensor& y) {
      ++outputs;
      with_grad += y.requires_grad() || y.grad_fn() != nullptr;
    });
  const Tensor y = (*p.folded)(test::random_tensor({1, 3, 40, 40}, 8, DType::f32));
  CHECK(outputs > 100);  // every module ran through a hook
  CHECK(with_grad == 0);
  CHECK(!y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
  // The same model before the pass does record (so the check above can fail).
  const Tensor z = (*p.plain)(test::random_tensor({1, 3, 40, 40}, 8, DType::f32));
  CHECK(z.grad_fn() != nullptr);
}

TEST_CASE("Module.replace_child: replaces in place; refuses a child held outside the tree") {
  Generator gen(0);
  models::ModelOptions opt;
  opt.init_weights = false;
  nn::ModulePtr m = models::create_model("mobilenet_v2", 3, opt, gen);
  nn::Module* classifier = m->find("classifier");
  REQUIRE(classifier != nullptr);
  nn::ModulePtr old = classifier->replace_child("0", nn::make<nn::Identity>());
  CHECK(old->type_name() == "Dropout");
  CHECK(m->find("classifier.0")->type_name() == "Identity");
  CHECK(classifier->named_children().front().first == "0");  // same name, same place
  CHECK_THROWS_WITH_AS(classifier->replace_child("7", nn::make<nn::Identity>()), doctest::Contains("no such child"),
                       Error);
  // MobileNetV2 keeps `classifier` in a member too: replacing it would be silently ignored.
  CHECK_THROWS_WITH_AS(m->replace_child("classifier", nn::make<nn::Identity>()),
                       doctest::Contains("held outside the tree"), Error);
}
