#include <doctest/doctest.h>

#include "models/aux_classifiers.h"
#include "models/inference.h"
#include "models/registry.h"
#include "tensor/autograd.h"
#include "tests/support/random.h"

using namespace hemo;

TEST_CASE("GoogLeNet's side heads: logits in training only, weight 0.3 each, taken once, dropped for inference") {
  Generator gen(5);
  models::ModelOptions opt;
  opt.dropout = 0;
  nn::ModulePtr m = models::create_model("googlenet", 6, opt, gen);
  auto* aux = dynamic_cast<models::AuxClassifiers*>(m.get());
  REQUIRE(aux != nullptr);
  const Tensor x = test::random_tensor({2, 3, 40, 40}, 3, DType::f32);
  NoGradGuard no_grad;
  m->train();
  const Tensor y = (*m)(x);
  CHECK(y.shape() == Shape{2, 6});
  auto heads = aux->take_aux_logits();
  REQUIRE(heads.size() == 2);
  for (const auto& [w, logits] : heads) {
    CHECK(w == 0.3);
    CHECK(logits.shape() == Shape{2, 6});
  }
  CHECK(aux->take_aux_logits().empty());  // nothing held after the take
  m->eval();
  const Tensor e = (*m)(x);
  CHECK(aux->take_aux_logits().empty());  // eval mode runs no side head
  const int64_t before = m->parameter_count();
  const models::InferenceReport r = models::prepare_for_inference(*m);
  CHECK(r.aux_classifiers_removed);
  CHECK(m->find("aux1") == nullptr);
  CHECK(m->find("aux2") == nullptr);
  CHECK(m->parameter_count() < before);
  // The folded model without its heads computes the same logits (eval mode ignores them anyway).
  const std::vector<float> a = e.to_vector<float>(), b = (*m)(x).to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-4));
  CHECK(dynamic_cast<models::AuxClassifiers*>(models::create_model("resnet18", 6, opt, gen).get()) == nullptr);
}
