// load_state_dict (strict and transfer modes) and freeze_backbone on a real model (pbcnet7 at a
// small input: every layer kind, and a classifier head named "classifier.2").
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>

#include "models/registry.h"
#include "nn/ops_loss.h"
#include "nn/state_dict.h"

using namespace hemo;

namespace {
nn::ModulePtr small_pbcnet7(int64_t classes, uint64_t seed) {
  models::ModelOptions opt;
  opt.input_size = 32;
  opt.dropout = 0;
  Generator gen(seed);
  return models::create_model("pbcnet7", classes, opt, gen);
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}

std::string error_of(nn::Module& m, const std::vector<nn::NamedTensor>& tensors, nn::LoadMode mode,
                     const std::string& head = "") {
  try {
    nn::load_state_dict(m, tensors, mode, head);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Deep copies, so that later loads cannot alias the source model's storage.
std::vector<nn::NamedTensor> copy_of(const std::vector<nn::NamedTensor>& sd) {
  std::vector<nn::NamedTensor> out;
  for (const auto& [n, t] : sd) out.emplace_back(n, t.detach().clone());
  return out;
}
}  // namespace

TEST_CASE("load_state_dict strict: copies every tensor, and names what does not fit") {
  auto src = small_pbcnet7(5, 1), dst = small_pbcnet7(5, 2);
  auto sd = copy_of(src->state_dict());
  REQUIRE_FALSE(same_values(dst->state_dict()[0].second, sd[0].second));  // different seeds
  nn::LoadReport r = nn::load_state_dict(*dst, sd);
  CHECK(r.loaded.size() == sd.size());
  CHECK(r.reinitialized.empty());
  for (size_t i = 0; i < sd.size(); ++i) CHECK(same_values(dst->state_dict()[i].second, sd[i].second));

  auto missing = sd;
  missing.erase(missing.begin() + 3);  // features.1.0.bias
  auto unexpected = sd;
  unexpected.emplace_back("features.9.weight", Tensor::zeros({2}));
  std::string e = error_of(*dst, missing, nn::LoadMode::strict);
  CHECK(e.find("missing keys (1)") != std::string::npos);
  CHECK(e.find(sd[3].first) != std::string::npos);
  e = error_of(*dst, unexpected, nn::LoadMode::strict);
  CHECK(e.find("unexpected keys (1)") != std::string::npos);
  CHECK(e.find("features.9.weight") != std::string::npos);

  // A classifier for another class count: a shape mismatch in strict mode, with the hint.
  auto other = copy_of(small_pbcnet7(8, 3)->state_dict());
  e = error_of(*dst, other, nn::LoadMode::strict);
  CHECK(e.find("shape mismatches (2)") != std::string::npos);
  CHECK(e.find("classifier.2.weight (file [8, 128], model [5, 128])") != std::string::npos);
  CHECK(e.find("transfer mode") != std::string::npos);
}

TEST_CASE("load_state_dict transfer: loads the backbone and keeps a freshly initialized head") {
  auto src = copy_of(small_pbcnet7(8, 3)->state_dict());  // "pretrained", 8 classes
  auto dst = small_pbcnet7(5, 4);                            // new task, 5 classes
  auto fresh = copy_of(dst->state_dict());
  const std::string head = models::model_spec("pbcnet7").head;
  REQUIRE(head == "classifier.2");
  nn::LoadReport r = nn::load_state_dict(*dst, src, nn::LoadMode::transfer, head);
  CHECK(std::set<std::string>(r.reinitialized.begin(), r.reinitialized.end()) ==
        std::set<std::string>{"classifier.2.weight", "classifier.2.bias"});
  CHECK(r.loaded.size() == src.size() - 2);
  auto now = dst->state_dict();
  for (size_t i = 0; i < now.size(); ++i) {
    CAPTURE(now[i].first);
    const bool in_head = now[i].first.rfind(head + ".", 0) == 0;
    if (in_head) {
      CHECK(same_values(now[i].second, fresh[i].second));  // the new model's own initialization
    } else {
      CHECK(same_values(now[i].second, src[i].second));
    }
  }
  // The head's fresh initialization is the model's (pbcnet7 keeps torch.nn.Linear's default:
  // U(+-1/sqrt(128))), not zeros.
  auto w = dst->find(head)->named_parameters()[0].second.to_vector<float>();
  double bound = 1.0 / std::sqrt(128.0), max_abs = 0;
  for (float v : w) max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  CHECK(max_abs > 0.5 * bound);
  CHECK(max_abs <= bound);

  // Mismatches outside the head are errors even in transfer mode.
  auto bad = src;
  for (auto& [n, t] : bad)
    if (n == "features.0.0.weight") t = Tensor::zeros({32, 3, 5, 5});
  std::string e = error_of(*dst, bad, nn::LoadMode::transfer, head);
  CHECK(e.find("features.0.0.weight (file [32, 3, 5, 5], model [32, 3, 3, 3])") != std::string::npos);
}

TEST_CASE("freeze_backbone: only the head requires and receives gradients") {
  auto m = small_pbcnet7(4, 5);
  const std::string head = models::model_spec("pbcnet7").head;
  nn::freeze_backbone(*m, head);
  int trainable = 0;
  for (const auto& [n, p] : m->named_parameters()) {
    CAPTURE(n);
    const bool in_head = n.rfind(head + ".", 0) == 0;
    CHECK(p.requires_grad() == in_head);
    trainable += in_head;
  }
  CHECK(trainable == 2);
  Tensor x = Tensor::full({2, 3, 32, 32}, 0.5);
  nn::cross_entropy((*m)(x), {1, 3}).backward();
  for (const auto& [n, p] : m->named_parameters()) {
    CAPTURE(n);
    CHECK(p.grad().defined() == (n.rfind(head + ".", 0) == 0));
  }
  CHECK_THROWS_WITH_AS(nn::freeze_backbone(*m, "classifier.7"),
                       "freeze_backbone: the model has no module named 'classifier.7'", Error);
}
