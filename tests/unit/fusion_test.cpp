// Module fusion (nn/fusion.h): a batch norm and the ReLU / ReLU6 after it run as one op whose
// output, gradients and running statistics are bit for bit those of the two modules in turn, in a
// Sequential, in ResNet's hand-written blocks, in GoogLeNet's functional ReLU and in DenseNet's
// checkpointed bottleneck; the same for a batch norm, the residual add and the activation
// (bn_add_act, ResNet's block end), NCHW and channels-last; and the pairs that must not fuse do not.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kernels/depthwise_conv2d.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "nn/fusion.h"
#include "nn/layers.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_reduce.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"

using namespace hemo;

namespace {
Tensor random_tensor(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (float& x : v) x = static_cast<float>(scale * g.normal());
  return Tensor::from_vector<float>(v, shape);
}

// Largest |a - b| over two same-shaped tensors (0 when bit for bit equal, barring signed zeros).
double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) != std::isnan(y[i])) return INFINITY;
    if (!std::isnan(x[i])) worst = std::max(worst, std::abs(static_cast<double>(x[i]) - y[i]));
  }
  return worst;
}

// How many nodes of each op name the graph behind y holds.
std::map<std::string, int> op_counts(const Tensor& y) {
  std::map<std::string, int> counts;
  std::set<const Node*> seen;
  std::vector<const Node*> todo;
  if (y.grad_fn()) todo.push_back(y.grad_fn().get());
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    ++counts[n->name];
    for (const Tensor& in : n->inputs)
      if (in.defined() && in.grad_fn()) todo.push_back(in.grad_fn().get());
  }
  return counts;
}

int fused_nodes(const Tensor& y) {
  auto c = op_counts(y);
  return c["batch_norm_relu"] + c["batch_norm_relu6"] + c["batch_norm_add_relu"] + c["batch_norm_add_relu6"];
}

int fused_add_nodes(const Tensor& y) {
  auto c = op_counts(y);
  return c["batch_norm_add_relu"] + c["batch_norm_add_relu6"];
}

// Sets batch-norm fusion for a test and restores the process-wide switch when it ends. The
// depthwise kernels' specialization, which set_fusion_enabled turns too, stays on: their weight
// gradients round differently (tests/unit/conv_test.cpp compares the two), and these tests are
// about batch norm's bits.
struct FusionSwitch {
  explicit FusionSwitch(bool on) {
    nn::set_fusion_enabled(on);
    set_depthwise_specialized(true);
  }
  ~FusionSwitch() { nn::set_fusion_enabled(true); }
};

// A Sequential(BatchNorm2d(c), act) with random affine parameters and running statistics.
std::shared_ptr<nn::Sequential> bn_act_seq(int64_t c, Activation a) {
  auto bn = nn::make<nn::BatchNorm2d>(c);
  bn->weight = random_tensor({c}, 11, 3.0).requires_grad_(true);  // some channels reach ReLU6's top
  bn->bias = random_tensor({c}, 12).requires_grad_(true);
  bn->running_mean = random_tensor({c}, 13);
  bn->running_var = nn::add(nn::mul(random_tensor({c}, 14), random_tensor({c}, 14)), Tensor::full({c}, 0.5));
  return nn::make<nn::Sequential>(std::vector<nn::ModulePtr>{bn, nn::make<nn::Act>(a)});
}

struct Result {
  Tensor y, gx, gw, gb, running_mean, running_var, count;
  int fused = 0;
};

Result run_pair(bool fusion, bool training, Activation a) {
  FusionSwitch sw(fusion);
  auto seq = bn_act_seq(5, a);
  seq->train(training);
  // Values around the activation's kinks and on both saturated sides of ReLU6.
  Tensor x = random_tensor({3, 5, 7, 6}, 21, 3.0).requires_grad_(true);
  Tensor y = (*seq)(x);
  auto& bn = static_cast<nn::BatchNorm2d&>(*(*seq)[0]);
  Result r;
  r.y = y.detach().clone(), r.running_mean = bn.running_mean.clone(), r.running_var = bn.running_var.clone();
  r.count = bn.num_batches_tracked.clone(), r.fused = fused_nodes(y);
  nn::sum(nn::mul(y, random_tensor(y.shape(), 22))).backward();
  r.gx = x.grad(), r.gw = bn.weight.grad(), r.gb = bn.bias.grad();
  return r;
}
}  // namespace

TEST_CASE("fusion: BatchNorm2d then ReLU or ReLU6 gives the two modules' bits, in training and eval") {
  for (Activation a : {Activation::relu, Activation::relu6}) {
    for (bool training : {true, false}) {
      const std::string act_name = activation_name(a);
      CAPTURE(act_name);
      CAPTURE(training);
      const Result fused = run_pair(true, training, a), plain = run_pair(false, training, a);
      CHECK(fused.fused == 1);  // one fused node stood for the pair
      CHECK(plain.fused == 0);
      double worst = 0;
      const std::vector<std::pair<Tensor, Tensor>> pairs = {
          {fused.y, plain.y},   {fused.gx, plain.gx}, {fused.gw, plain.gw}, {fused.gb, plain.gb}, {fused.running_mean, plain.running_mean},
          {fused.running_var, plain.running_var}};
      for (const auto& [f, p] : pairs) worst = std::max(worst, max_abs_diff(f, p));
      std::printf("fusion %s %s: worst |fused - unfused| over y, 3 gradients, 2 running stats = %g\n",
                  activation_name(a), training ? "train" : "eval", worst);
      CHECK(worst == 0);
      CHECK(max_abs_diff(fused.count, plain.count) == 0);
      // Not a vacuous comparison: both sides of the activation's flat pieces were present.
      const std::vector<float> y = fused.y.to_vector<float>();
      CHECK(std::count(y.begin(), y.end(), 0.0f) > 0);
      CHECK(std::count_if(y.begin(), y.end(), [](float v) { return v > 0; }) > 0);
      if (a == Activation::relu6) CHECK(std::count(y.begin(), y.end(), 6.0f) > 0);
    }
  }
}

TEST_CASE("fusion: hooked modules, other activations, synchronized batch norm and the switch keep two ops") {
  auto seq = bn_act_seq(4, Activation::relu6);
  nn::Module &bn = *(*seq)[0], &act = *(*seq)[1];
  CHECK(nn::fusable(bn, act));
  {
    FusionSwitch off(false);
    CHECK_FALSE(nn::fusable(bn, act));
  }
  nn::Act hardswish(Activation::hardswish), relu(Activation::relu);
  CHECK_FALSE(nn::fusable(bn, hardswish));
  CHECK_FALSE(nn::fusable(act, bn));
  CHECK(nn::fusable(bn, relu));

  // A hook on the activation must see the activation's own output: no fusion.
  Tensor seen;
  const size_t id = act.register_forward_hook([&seen](nn::Module&, const Tensor& out) { seen = out; });
  CHECK_FALSE(nn::fusable(bn, act));
  Tensor x = random_tensor({2, 4, 3, 3}, 31);
  Tensor y = (*seq)(x);
  REQUIRE(seen.defined());
  CHECK(max_abs_diff(seen, y) == 0);
  act.remove_forward_hook(id);
  const size_t bn_hook = bn.register_forward_hook([](nn::Module&, const Tensor&) {});
  CHECK_FALSE(nn::fusable(bn, act));
  bn.remove_forward_hook(bn_hook);
  CHECK(nn::fusable(bn, act));

  static_cast<nn::BatchNorm2d&>(bn).sync = [](std::span<double>) {};
  CHECK_FALSE(nn::fusable(bn, act));
  CHECK_THROWS_WITH_AS(static_cast<nn::BatchNorm2d&>(bn).forward_act(x, BnAct::relu6),
                       doctest::Contains("synchronized"), Error);
}

TEST_CASE("fusion: whole models give the same logits and gradients fused and unfused") {
  // mobilenet_v2: Sequential children; resnet18: the blocks' bn_relu; googlenet: BasicConv2d's
  // functional ReLU; densenet121: forward_range inside the checkpointed bottleneck.
  for (const char* name : {"mobilenet_v2", "resnet18", "googlenet", "densenet121"}) {
    CAPTURE(name);
    std::vector<Tensor> results[2];
    int fused[2] = {};
    for (int on : {1, 0}) {
      FusionSwitch sw(on == 1);
      Generator gen(7);
      models::ModelOptions opt;
      opt.input_size = 64;
      nn::ModulePtr m = models::create_model(name, 3, opt, gen);
      m->train();
      default_generator().set_state({5, 0, 0, 0});  // the same dropout masks in both runs
      Tensor x = random_tensor({2, 3, 64, 64}, 41);
      Tensor logits = (*m)(x);
      fused[on] = fused_nodes(logits);
      // MobileNetV2's ten inverted residuals with a shortcut end in batch norm + add (nn::bn_add).
      if (std::string(name) == "mobilenet_v2") CHECK(op_counts(logits)["batch_norm_add"] == (on ? 10 : 0));
      nn::sum(nn::mul(logits, random_tensor(logits.shape(), 42))).backward();
      results[on].push_back(logits.detach());
      for (const auto& [pname, p] : m->named_parameters())
        if (p.grad().defined()) results[on].push_back(p.grad());
      for (const auto& [bname, b] : m->named_buffers()) results[on].push_back(b.clone());
    }
    CHECK(fused[1] > 0);
    CHECK(fused[0] == 0);
    // resnet18: bn_relu in the stem and 8 blocks, bn_add_act at the end of the 8 blocks
    if (std::string(name) == "resnet18") CHECK(fused[1] == 9 + 8);
    REQUIRE(results[0].size() == results[1].size());
    double worst = 0;
    for (size_t i = 0; i < results[0].size(); ++i) worst = std::max(worst, max_abs_diff(results[1][i], results[0][i]));
    std::printf("fusion %s: %d fused batch norms; worst |fused - unfused| over logits, %zu gradients and buffers = %g\n",
                name, fused[1], results[0].size() - 1, worst);
    CHECK(worst == 0);
  }
}

namespace {
struct AddResult {
  std::vector<Tensor> values;  // y, gx, gr, gw, gb, running_mean, running_var, num_batches_tracked
  Tensor y;
  int fused = 0, unfused_adds = 0;
};

// How the residual test's inputs are laid out and which of them take a gradient.
struct AddSetup {
  bool x_cl = false, r_cl = false;  // channels-last x / residual
  bool x_grad = true, params_grad = true;
};

// act(bn(x) + r) through nn::bn_add_act, with random parameters and running statistics.
AddResult run_add(bool fusion, bool training, Activation a, const AddSetup& st) {
  FusionSwitch sw(fusion);
  auto seq = bn_act_seq(5, a);
  auto& bn = static_cast<nn::BatchNorm2d&>(*(*seq)[0]);
  bn.weight.requires_grad_(st.params_grad);
  bn.bias.requires_grad_(st.params_grad);
  seq->train(training);
  const auto fmt = [](bool cl) { return cl ? MemoryFormat::channels_last : MemoryFormat::contiguous; };
  Tensor x = random_tensor({3, 5, 7, 6}, 21, 3.0).to(fmt(st.x_cl)).requires_grad_(st.x_grad);
  Tensor r = random_tensor({3, 5, 7, 6}, 23, 2.0).to(fmt(st.r_cl)).requires_grad_(true);
  Tensor y = nn::bn_add_act(bn, *(*seq)[1], x, r);
  AddResult res;
  res.y = y.detach().clone();
  res.fused = fused_add_nodes(y);
  res.unfused_adds = op_counts(y)["add"];
  nn::sum(nn::mul(y, random_tensor(y.shape(), 22))).backward();
  const Tensor none;
  res.values = {res.y,
                st.x_grad ? x.grad() : none,
                r.grad(),
                st.params_grad ? bn.weight.grad() : none,
                st.params_grad ? bn.bias.grad() : none,
                bn.running_mean.clone(),
                bn.running_var.clone(),
                bn.num_batches_tracked.clone()};
  return res;
}
}  // namespace

TEST_CASE("fusion: BatchNorm2d, the residual add and ReLU or ReLU6 give the three ops' bits, NCHW and channels-last") {
  const std::vector<AddSetup> setups = {{},
                                        {.x_cl = true, .r_cl = true},
                                        {.x_cl = true, .r_cl = false},
                                        {.x_grad = false},
                                        {.x_cl = true, .r_cl = true, .x_grad = false},
                                        {.x_cl = true, .r_cl = true, .params_grad = false},
                                        {.params_grad = false}};
  const char* names[] = {"y", "gx", "gr", "gweight", "gbias", "running_mean", "running_var", "count"};
  for (Activation a : {Activation::relu, Activation::relu6}) {
    for (bool training : {true, false}) {
      for (const AddSetup& st : setups) {
        const std::string act_name = activation_name(a);
        CAPTURE(act_name);
        CAPTURE(training);
        CAPTURE(st.x_cl);
        CAPTURE(st.r_cl);
        CAPTURE(st.x_grad);
        CAPTURE(st.params_grad);
        const AddResult fused = run_add(true, training, a, st), plain = run_add(false, training, a, st);
        CHECK(fused.fused == 1);  // one fused node stood for bn, add and act
        CHECK(fused.unfused_adds == 0);
        CHECK(plain.fused == 0);
        CHECK(plain.unfused_adds == 1);
        double worst = 0;
        std::string worst_name = "-";
        for (size_t i = 0; i < fused.values.size(); ++i) {
          const Tensor &f = fused.values[i], &p = plain.values[i];
          REQUIRE(f.defined() == p.defined());
          if (!f.defined()) continue;
          CHECK(f.memory_format() == p.memory_format());
          const double d = max_abs_diff(f, p);
          if (d >= worst && d > 0) worst_name = names[i];
          worst = std::max(worst, d);
        }
        std::printf("fusion add %s %s x %s r %s%s%s: worst |fused - unfused| over y, gradients, running stats"
                    " = %g (%s)\n",
                    activation_name(a), training ? "train" : "eval", st.x_cl ? "NHWC" : "NCHW",
                    st.r_cl ? "NHWC" : "NCHW", st.x_grad ? "" : ", no gx", st.params_grad ? "" : ", no gweight/gbias",
                    worst, worst_name.c_str());
        CHECK(worst == 0);
        // Not a vacuous comparison: the sum crossed the activation's kinks, and the residual's
        // gradient is masked (zeros) and passed (non-zeros).
        const std::vector<float> y = fused.y.to_vector<float>(), gr = fused.values[2].to_vector<float>();
        CHECK(std::count(y.begin(), y.end(), 0.0f) > 0);
        CHECK(std::count_if(y.begin(), y.end(), [](float v) { return v > 0; }) > 0);
        if (a == Activation::relu6) CHECK(std::count(y.begin(), y.end(), 6.0f) > 0);
        CHECK(std::count(gr.begin(), gr.end(), 0.0f) > 0);
        CHECK(std::count_if(gr.begin(), gr.end(), [](float v) { return v != 0; }) > 0);
      }
    }
  }
}

TEST_CASE("fusion: a hooked activation, synchronized batch norm and the switch keep bn, add and act apart") {
  auto seq = bn_act_seq(4, Activation::relu);
  nn::Module &bn = *(*seq)[0], &act = *(*seq)[1];
  Tensor x = random_tensor({2, 4, 3, 3}, 31), r = random_tensor({2, 4, 3, 3}, 32);
  CHECK(fused_add_nodes(nn::bn_add_act(bn, act, x.requires_grad_(true), r)) == 1);
  {
    FusionSwitch off(false);
    CHECK(fused_add_nodes(nn::bn_add_act(bn, act, x, r)) == 0);
  }
  Tensor seen;
  const size_t id = act.register_forward_hook([&seen](nn::Module&, const Tensor& out) { seen = out; });
  Tensor y = nn::bn_add_act(bn, act, x, r);
  CHECK(fused_add_nodes(y) == 0);
  REQUIRE(seen.defined());
  CHECK(max_abs_diff(seen, y) == 0);
  act.remove_forward_hook(id);
  static_cast<nn::BatchNorm2d&>(bn).sync = [](std::span<double>) {};
  CHECK(fused_add_nodes(nn::bn_add_act(bn, act, x, r)) == 0);
  CHECK_THROWS_WITH_AS(static_cast<nn::BatchNorm2d&>(bn).forward_act(x, BnAct::none, r),
                       doctest::Contains("synchronized"), Error);
  // A residual of another shape is an error fused as unfused.
  nn::BatchNorm2d plain(4);
  CHECK_THROWS_AS(nn::bn_add_act(plain, act, x, random_tensor({2, 4, 3, 2}, 33)), Error);
}

TEST_CASE("fusion: ResNet blocks (BasicBlock, with downsample too, Bottleneck) fused and unfused, NCHW and NHWC") {
  for (int kind : {0, 1, 2}) {  // BasicBlock 8 -> 8, BasicBlock 8 -> 16 stride 2, Bottleneck 16 -> 4 * 8
    for (bool cl : {false, true}) {
      for (bool training : {true, false}) {
        CAPTURE(kind);
        CAPTURE(cl);
        CAPTURE(training);
        std::vector<Tensor> results[2];
        int fused[2] = {};
        for (int on : {1, 0}) {
          FusionSwitch sw(on == 1);
          Generator gen(9);
          nn::ModulePtr block;
          int64_t in = 8;
          if (kind == 0) block = nn::make<models::BasicBlock>(8, 8, 1, gen);
          if (kind == 1) block = nn::make<models::BasicBlock>(8, 16, 2, gen);
          if (kind == 2) block = nn::make<models::Bottleneck>(in = 16, 8, 1, 1, 64, gen);
          // Non-trivial affine parameters and running statistics in every batch norm.
          uint64_t seed = 100;
          for (const auto& [name, m] : block->named_modules()) {
            auto* bn = dynamic_cast<nn::BatchNorm2d*>(m);
            if (!bn) continue;
            const int64_t c = bn->channels;
            bn->weight = random_tensor({c}, seed++).requires_grad_(true);
            bn->bias = random_tensor({c}, seed++).requires_grad_(true);
            bn->running_mean = random_tensor({c}, seed++, 0.1);
            bn->running_var = Tensor::full({c}, 0.8);
          }
          block->train(training);
          Tensor x = random_tensor({2, in, 9, 10}, 51);
          if (cl) x = x.to(MemoryFormat::channels_last);
          x.requires_grad_(true);
          Tensor y = (*block)(x);
          fused[on] = fused_add_nodes(y);
          nn::sum(nn::mul(y, random_tensor(y.shape(), 52))).backward();
          results[on].push_back(y.detach());
          results[on].push_back(x.grad());
          for (const auto& [pname, p] : block->named_parameters())
            if (p.grad().defined()) results[on].push_back(p.grad());
          for (const auto& [bname, b] : block->named_buffers()) results[on].push_back(b.clone());
        }
        CHECK(fused[1] == 1);
        CHECK(fused[0] == 0);
        REQUIRE(results[0].size() == results[1].size());
        double worst = 0;
        for (size_t i = 0; i < results[0].size(); ++i)
          worst = std::max(worst, max_abs_diff(results[1][i], results[0][i]));
        std::printf("fusion block %s%s %s %s: worst |fused - unfused| over y, gx, %zu gradients and buffers = %g\n",
                    kind == 2 ? "Bottleneck" : "BasicBlock", kind == 1 ? " (downsample)" : "", cl ? "NHWC" : "NCHW",
                    training ? "train" : "eval", results[0].size() - 2, worst);
        CHECK(worst == 0);
      }
    }
  }
}
