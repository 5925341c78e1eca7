// Optimizers, gradient clipping and LR schedules against PyTorch (Debian's torch, run at test
// time by optim_reference.py on inputs both sides compute from the same formulas), plus the
// optimizer state round trip a checkpoint relies on.
#include "train/optim.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "nn/ops_elementwise.h"
#include "tests/support/compare.h"
#include "tests/support/random.h"
#include "tests/train/train_test_util.h"
#include "train/options.h"
#include "train/schedule.h"

using namespace hemo;
using namespace hemo::train;
using hemo::test::shell_quote;

namespace {

const Shape kShapes[2] = {{3, 5}, {7}};

// Kept identical to init() and grad() in optim_reference.py.
Tensor init_param(int j) {
  std::vector<float> v;
  const int n = j == 0 ? 15 : 7;
  for (int i = 0; i < n; ++i)
    v.push_back(j == 0 ? static_cast<float>(((7 * i + 3) % 23 - 11) / 8.0)
                       : static_cast<float>(((5 * i + 1) % 13 - 6) / 4.0 + 0.125));
  return Tensor::from_vector(v, kShapes[j]);
}

Tensor grad_at(int j, int s) {
  std::vector<float> v;
  const int n = j == 0 ? 15 : 7;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<float>((((13 * i + 7 * s + 3 * j) % 17) - 8) / 16.0 + 1.0 / 32));
  return Tensor::from_vector(v, kShapes[j]);
}

const nlohmann::json& reference() {
  static nlohmann::json ref = [] {
    std::string out, err;
    const std::string script = std::string(HEMO_SOURCE_DIR) + "/tests/train/optim_reference.py";
    const int rc = hemo::test::run_command(shell_quote(HEMO_PYTHON) + " " + shell_quote(script), &out, &err);
    REQUIRE_MESSAGE(rc == 0, "optim_reference.py failed (Debian python3-torch needed):\n", err);
    return nlohmann::json::parse(out);
  }();
  return ref;
}

std::unique_ptr<Optimizer> make(const std::string& name, std::vector<Tensor> params) {
  if (name == "sgd") return std::make_unique<Sgd>(params, SgdOptions{0.1});
  if (name == "sgd_momentum_wd") return std::make_unique<Sgd>(params, SgdOptions{0.05, 0.9, 0, 0.01, false});
  if (name == "sgd_dampening") return std::make_unique<Sgd>(params, SgdOptions{0.05, 0.9, 0.1, 0, false});
  if (name == "sgd_nesterov_wd") return std::make_unique<Sgd>(params, SgdOptions{0.05, 0.9, 0, 1e-3, true});
  AdamOptions o;
  o.lr = 1e-2;
  if (name == "adam_wd_betas") o.beta1 = 0.8, o.beta2 = 0.99, o.weight_decay = 0.01, o.eps = 1e-6;
  if (name == "adamw") o.weight_decay = 0.1, o.decoupled = true;
  return std::make_unique<Adam>(params, o);
}

// Runs steps [from, to) of the reference schedule (param 1 has no gradient at step 2; the lr is
// halved before step 4).
void run_steps(Optimizer& opt, std::vector<Tensor>& params, int from, int to, double base_lr) {
  for (int s = from; s < to; ++s) {
    opt.set_lr(s >= 4 ? base_lr * 0.5 : base_lr);
    opt.zero_grad();
    for (int j = 0; j < 2; ++j)
      if (!(j == 1 && s == 2)) params[j].set_grad(grad_at(j, s));
    opt.step();
  }
}

double base_lr_of(const std::string& name) { return name == "sgd" ? 0.1 : name.rfind("sgd", 0) == 0 ? 0.05 : 1e-2; }

std::vector<Tensor> fresh_params() {
  std::vector<Tensor> p = {init_param(0), init_param(1)};
  for (Tensor& t : p) t.requires_grad_(true);
  return p;
}

}  // namespace

TEST_CASE("optimizers: SGD, momentum, dampening, Nesterov, Adam, AdamW match torch.optim step by step") {
  const auto& ref = reference()["optimizers"];
  REQUIRE(ref.size() == 7);
  double worst = 0;
  for (auto it = ref.begin(); it != ref.end(); ++it) {
    const std::string name = it.key();
    CAPTURE(name);
    std::vector<Tensor> params = fresh_params();
    auto opt = make(name, params);
    const double lr = base_lr_of(name);
    for (int s = 0; s < 6; ++s) {
      run_steps(*opt, params, s, s + 1, lr);
      for (int j = 0; j < 2; ++j) {
        const Tensor expected = Tensor::from_vector((*it)[s][j].get<std::vector<double>>(), kShapes[j]);
        HEMO_CHECK_CLOSE(params[j], expected, 2e-6, cat(name, " step ", s, " param ", j));
        auto a = params[j].to_vector<double>(), e = expected.to_vector<double>();
        for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - e[i]));
      }
    }
  }
  MESSAGE("optimizers vs torch: worst absolute difference over 7 configs x 6 steps: ", worst);
}

TEST_CASE("optimizers: state() / load_state() continue a run exactly") {
  for (const std::string name : {"sgd_nesterov_wd", "adam", "adamw"}) {
    CAPTURE(name);
    std::vector<Tensor> a = fresh_params();
    auto opt_a = make(name, a);
    run_steps(*opt_a, a, 0, 6, base_lr_of(name));

    std::vector<Tensor> b = fresh_params();
    auto opt_b = make(name, b);
    run_steps(*opt_b, b, 0, 3, base_lr_of(name));
    // A "restart": new parameters holding b's values, a new optimizer loading b's state.
    std::vector<Tensor> c = {b[0].detach().clone(), b[1].detach().clone()};
    for (Tensor& t : c) t.requires_grad_(true);
    auto opt_c = make(name, c);
    opt_c->load_state(opt_b->state());
    CHECK(opt_c->steps() == 3);
    run_steps(*opt_c, c, 3, 6, base_lr_of(name));
    for (int j = 0; j < 2; ++j) CHECK(c[j].to_vector<float>() == a[j].to_vector<float>());  // bit for bit
  }
  // A state of another model is refused with the shapes named.
  std::vector<Tensor> p = fresh_params();
  auto adam = make("adam", p);
  run_steps(*adam, p, 0, 1, 1e-2);
  std::vector<Tensor> other = {Tensor::zeros({4}), Tensor::zeros({7})};
  for (Tensor& t : other) t.requires_grad_(true);
  auto adam2 = make("adam", other);
  CHECK_THROWS_WITH_AS(adam2->load_state(adam->state()), doctest::Contains("another model"), hemo::Error);
}

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_") {
  const auto& ref = reference()["clip"];
  std::vector<Tensor> params = fresh_params();
  for (int j = 0; j < 2; ++j) params[j].set_grad(grad_at(j, 1));
  const double norm = clip_grad_norm(params, 0.5);
  CHECK(norm == doctest::Approx(ref["norm"].get<double>()).epsilon(1e-6));
  for (int j = 0; j < 2; ++j)
    HEMO_CHECK_CLOSE(params[j].grad(), Tensor::from_vector(ref["grads"][j].get<std::vector<double>>(), kShapes[j]),
                     1e-6, cat("clipped grad ", j));
  // Below the limit nothing changes.
  for (int j = 0; j < 2; ++j) params[j].set_grad(grad_at(j, 1));
  const auto before = params[0].grad().to_vector<float>();
  clip_grad_norm(params, 1e6);
  CHECK(params[0].grad().to_vector<float>() == before);
}

// The clip works on the device from the gradients' squares (kernels/grad_clip.h); its scaling
// must be the one the host-side clip made before, nn::scale(g, coef) with torch's coef, bit for bit.
TEST_CASE("clip_grad_norm scales as nn::scale by max_norm / (norm + 1e-6), bit for bit; a NaN norm changes nothing") {
  const Shape shapes[] = {{6, 3, 3, 3}, {6}, {40, 17}, {1}, {13}};
  for (const double max_norm : {0.25, 3.0, 1e9}) {
    CAPTURE(max_norm);
    std::vector<Tensor> params, expect;
    for (size_t j = 0; j < std::size(shapes); ++j) {
      Tensor p = hemo::test::random_tensor(shapes[j], 10 + j, DType::f32);
      p.requires_grad_(true);
      if (j != 3) p.set_grad(hemo::test::random_tensor(shapes[j], 20 + j, DType::f32, 0.01, 0.2));  // one without
      params.push_back(p);
    }
    const double norm = grad_norm(params);
    const double coef = max_norm / (norm + 1e-6);
    for (const Tensor& p : params)
      expect.push_back(!p.grad().defined() ? Tensor() : coef < 1 ? nn::scale(p.grad(), coef) : p.grad().clone());
    CHECK(clip_grad_norm(params, max_norm) == norm);
    int differ = 0;
    for (size_t j = 0; j < params.size(); ++j)
      if (expect[j].defined()) differ += params[j].grad().to_vector<float>() != expect[j].to_vector<float>();
    CHECK_FALSE(params[3].grad().defined());
    MESSAGE("max_norm ", max_norm, ", norm ", norm, ": ", differ, " of 4 gradients differ from nn::scale's");
    CHECK(differ == 0);
    if (max_norm < norm) CHECK(grad_norm(params) == doctest::Approx(max_norm).epsilon(1e-5));
  }
  // A NaN in a gradient: the norm is NaN and the gradients stay as they were (the step is then
  // skipped or stops the run); an infinite norm scales by 0, as torch's clip does.
  std::vector<Tensor> params = {hemo::test::random_tensor({9}, 3, DType::f32)};
  params[0].requires_grad_(true);
  std::vector<float> g = hemo::test::random_tensor({9}, 4, DType::f32).to_vector<float>();
  g[2] = std::nanf("");
  params[0].set_grad(Tensor::from_vector(g, {9}));
  CHECK(std::isnan(clip_grad_norm(params, 0.1)));
  const std::vector<float> after = params[0].grad().to_vector<float>();
  CHECK(std::memcmp(after.data(), g.data(), g.size() * sizeof(float)) == 0);
  g[2] = INFINITY;
  params[0].set_grad(Tensor::from_vector(g, {9}));
  CHECK(std::isinf(clip_grad_norm(params, 0.1)));
  CHECK(params[0].grad().to_vector<float>()[0] == 0.0f);
  CHECK(std::isnan(params[0].grad().to_vector<float>()[2]));
}

TEST_CASE("schedules: step, cosine and warmup + cosine match torch's LR schedulers") {
  const auto& ref = reference()["schedules"];
  Schedule step;
  step.kind = Schedule::Kind::step;
  step.base_lr = 0.1;
  step.step_size = 7;
  step.gamma = 0.1;
  Schedule cosine;
  cosine.kind = Schedule::Kind::cosine;
  cosine.base_lr = 0.1;
  cosine.total_epochs = 20;
  Schedule warm = cosine;
  warm.warmup_epochs = 3;
  warm.warmup_start = 0.01;
  const std::pair<const char*, const Schedule*> cases[] = {
      {"step", &step}, {"cosine", &cosine}, {"warmup_cosine", &warm}};
  for (const auto& [name, s] : cases) {
    const auto lrs = ref[name].get<std::vector<double>>();
    for (size_t e = 0; e < lrs.size(); ++e) {
      CAPTURE(name);
      CAPTURE(e);
      CHECK(s->lr_at(static_cast<double>(e)) == doctest::Approx(lrs[e]).epsilon(1e-9));
    }
  }
  Schedule constant;
  constant.base_lr = 3e-4;
  CHECK(constant.lr_at(17.5) == 3e-4);
  CHECK(parse_option<ScheduleKind>("cosine") == Schedule::Kind::cosine);
  CHECK(option_name(Schedule::Kind::step) == "step");
  CHECK_THROWS_WITH_AS(parse_option<ScheduleKind>("exp"),
                       doctest::Contains("--schedule 'exp' is not one of constant, step, cosine"), hemo::Error);
}

TEST_CASE("optimizers: the multi-tensor update gives the per-parameter updates' bits") {
  // 30 parameters of assorted sizes (one empty); some get no gradient on some steps, so Adam's
  // per-parameter step counts differ within one multi-tensor call.
  auto make_params = [] {
    std::vector<Tensor> ps;
    for (int j = 0; j < 30; ++j) {
      const int64_t n = j == 5 ? 0 : 1 + (j * 37) % 200;
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(std::sin(0.1 * (i + 7 * j)));
      ps.push_back(Tensor::from_vector(v, {n}).requires_grad_());
    }
    return ps;
  };
  auto run = [&](const std::string& kind, bool multi) {
    std::vector<Tensor> ps = make_params();
    std::unique_ptr<Optimizer> opt;
    if (kind == "sgd") opt = std::make_unique<Sgd>(ps, SgdOptions{0.05, 0.9, 0.1, 1e-3, false});
    if (kind == "nesterov") opt = std::make_unique<Sgd>(ps, SgdOptions{0.05, 0.9, 0, 1e-3, true});
    if (kind == "adam") opt = std::make_unique<Adam>(ps, AdamOptions{1e-2, 0.9, 0.999, 1e-8, 1e-2, false});
    if (kind == "adamw") opt = std::make_unique<Adam>(ps, AdamOptions{1e-2, 0.9, 0.999, 1e-8, 1e-2, true});
    opt->set_multi_tensor(multi);
    for (int s = 0; s < 4; ++s) {
      opt->zero_grad();
      for (size_t j = 0; j < ps.size(); ++j) {
        if ((j + static_cast<size_t>(s)) % 7 == 0) continue;  // no gradient this step
        std::vector<float> g(static_cast<size_t>(ps[j].numel()));
        for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(std::cos(0.3 * static_cast<double>(i + j) + s));
        ps[j].set_grad(Tensor::from_vector(g, ps[j].shape()));
      }
      opt->step();
    }
    std::vector<float> out;
    for (const Tensor& p : ps)
      for (float v : p.to_vector<float>()) out.push_back(v);
    for (const auto& [name, t] : opt->state())
      for (float v : t.detach().to_vector<float>()) out.push_back(v);
    return out;
  };
  for (const std::string kind : {"sgd", "nesterov", "adam", "adamw"}) {
    CAPTURE(kind);
    const std::vector<float> multi = run(kind, true), single = run(kind, false);
    REQUIRE(multi.size() == single.size());
    size_t differ = 0;
    for (size_t i = 0; i < multi.size(); ++i) differ += multi[i] != single[i];
    MESSAGE(kind, ": ", multi.size(), " values (parameters and optimizer state), ", differ, " differ");
    CHECK(differ == 0);
  }
}
