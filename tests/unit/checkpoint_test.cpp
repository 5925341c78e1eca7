// nn::checkpoint (activation recomputation) and memory-efficient DenseNet: the same values and
// gradients as without it, running statistics counted once, dropout replayed, hooks not
// re-fired, and the bytes a DenseNet training forward keeps for backward cut.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/host_memory.h"
#include "models/registry.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/ops_concat.h"
#include "nn/ops_dropout.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_reduce.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"

using namespace hemo;

namespace {
Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  Tensor t = Tensor::empty(shape);
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (float& x : v) x = static_cast<float>(g.normal());
  return Tensor::from_vector<float>(v, shape);
}

// Largest |a - b| relative to max(1, largest |b|) over two same-shaped tensors.
double rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0, scale = 1;
  for (size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(x[i]) - y[i]));
    scale = std::max(scale, std::abs(static_cast<double>(y[i])));
  }
  return worst / scale;
}

// A small block with every kind of state a recompute can disturb: batch norm (running
// statistics, batch counter), dropout (the default generator), a forward hook.
struct Block {
  nn::BatchNorm2d bn{6};
  nn::Conv2d conv;
  int hook_calls = 0;
  explicit Block(Generator& gen) : conv(6, 4, nn::Conv2d::Options{}, gen) {
    bn.train();
    bn.register_forward_hook([this](nn::Module&, const Tensor&) { ++hook_calls; });
  }
  Tensor operator()(const std::vector<Tensor>& xs) {
    Tensor h = bn(nn::concat_channels(xs));
    return conv(nn::dropout(h, 0.3, true, default_generator()));
  }
};
}  // namespace

TEST_CASE("checkpoint: the same output and gradients as the plain call; statistics counted once; dropout replayed") {
  const Tensor a = random_tensor({2, 2, 5, 5}, 1), b = random_tensor({2, 4, 5, 5}, 2), gy = random_tensor({2, 4, 3, 3}, 3);
  struct Run {
    Tensor y, ga, gb, gw, gbn, rm, rv, nbt;
    int hooks;
    Generator::State after;
  };
  auto run = [&](bool checkpointed) {
    Generator init(7);
    Block block(init);
    default_generator().manual_seed(11);
    Tensor xa = a.detach().clone().requires_grad_(), xb = b.detach().clone().requires_grad_();
    auto fn = [&block](const std::vector<Tensor>& xs) { return block(xs); };
    Tensor y = checkpointed ? nn::checkpoint("test", fn, {xa, xb}) : fn({xa, xb});
    y.backward(gy);
    return Run{y.detach(),           xa.grad(), xb.grad(), block.conv.weight.grad(), block.bn.weight.grad(),
               block.bn.running_mean, block.bn.running_var, block.bn.num_batches_tracked, block.hook_calls,
               default_generator().state()};
  };
  const Run plain = run(false), ckpt = run(true);
  const double worst = std::max({rel_diff(ckpt.y, plain.y), rel_diff(ckpt.ga, plain.ga), rel_diff(ckpt.gb, plain.gb),
                                 rel_diff(ckpt.gw, plain.gw), rel_diff(ckpt.gbn, plain.gbn),
                                 rel_diff(ckpt.rm, plain.rm), rel_diff(ckpt.rv, plain.rv)});
  std::printf("checkpoint vs plain: worst relative difference %.3g\n", worst);
  CHECK(worst <= 1e-6);
  CHECK(ckpt.nbt.item() == 1);  // the recompute did not count a second batch
  CHECK(plain.nbt.item() == 1);
  CHECK(ckpt.hooks == 1);  // nor fire the hook again
  // The recompute drew the same dropout mask (else the gradients above would differ) and left
  // the generator where the forward pass had left it.
  CHECK(ckpt.after.offset == plain.after.offset);
  CHECK(ckpt.after.buffered == plain.after.buffered);
  const std::vector<float> rm = ckpt.rm.to_vector<float>();  // the statistics did move
  CHECK(std::any_of(rm.begin(), rm.end(), [](float v) { return v != 0.f; }));
}

TEST_CASE("checkpoint: plain call without recording, or when no input needs a gradient") {
  Generator init(7);
  Block block(init);
  const Tensor a = random_tensor({2, 6, 4, 4}, 4);
  int calls = 0;
  auto fn = [&](const std::vector<Tensor>& xs) {
    ++calls;
    return block(xs);
  };
  Tensor y = nn::checkpoint("test", fn, {a});  // a needs no gradient; the conv's weight does
  CHECK(y.requires_grad());
  nn::sum(y).backward();
  CHECK(calls == 1);
  CHECK(block.conv.weight.grad().defined());
  NoGradGuard no_grad;
  CHECK(!nn::checkpoint("test", fn, {a.detach().requires_grad_()}).requires_grad());
}

TEST_CASE("memory-efficient DenseNet: the same logits, gradients and statistics, and far fewer bytes kept") {
  const Tensor x = random_tensor({2, 3, 64, 64}, 5);
  struct Run {
    Tensor logits;
    std::vector<nn::NamedTensor> grads, buffers;
    size_t kept;
  };
  auto run = [&](bool memory_efficient) {
    models::ModelOptions o;
    o.memory_efficient = memory_efficient;
    Generator gen(3);
    nn::ModulePtr m = models::create_model("densenet121", 5, o, gen);
    m->train();
    const size_t before = host_memory_stats().in_use;
    Tensor logits = (*m)(x);
    const size_t kept = host_memory_stats().in_use - before;  // what the graph holds for backward
    nn::sum(nn::mul(logits, logits)).backward();
    Run r{logits.detach(), {}, m->named_buffers(), kept};
    for (const auto& [name, p] : m->named_parameters()) r.grads.push_back({name, p.grad()});
    return r;
  };
  const Run plain = run(false), efficient = run(true);
  double worst = rel_diff(efficient.logits, plain.logits);
  REQUIRE(efficient.grads.size() == plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    CAPTURE(plain.grads[i].first);
    REQUIRE(efficient.grads[i].second.defined());
    worst = std::max(worst, rel_diff(efficient.grads[i].second, plain.grads[i].second));
  }
  for (size_t i = 0; i < plain.buffers.size(); ++i)
    worst = std::max(worst, rel_diff(efficient.buffers[i].second.to(DType::f32), plain.buffers[i].second.to(DType::f32)));
  std::printf("densenet121 64x64 batch 2, training forward keeps %s plain, %s memory-efficient (%.2fx); "
              "worst relative difference of logits, gradients, buffers %.3g\n",
              format_bytes(plain.kept).c_str(), format_bytes(efficient.kept).c_str(),
              static_cast<double>(plain.kept) / static_cast<double>(efficient.kept), worst);
  CHECK(worst <= 1e-5);
  CHECK(efficient.kept * 2 < plain.kept);
}
