#include "nn/checkpoint.h"

#include <memory>

#include "tensor/autograd.h"
#include "tensor/rng.h"

namespace hemo::nn {

namespace {
thread_local bool g_recomputing = false;

// Recording on, default_generator() at `state`, recomputing() true, the record scope (profiling)
// that of the forward call; all put back on exit.
class RecomputeScope {
 public:
  RecomputeScope(const Generator::State& state, int scope)
      : saved_(default_generator().state()), was_recomputing_(g_recomputing), scope_(record_scope()) {
    default_generator().set_state(state);
    g_recomputing = true;
    set_record_scope(scope);
  }
  ~RecomputeScope() {
    set_record_scope(scope_);
    g_recomputing = was_recomputing_;
    default_generator().set_state(saved_);
  }
  RecomputeScope(const RecomputeScope&) = delete;
  RecomputeScope& operator=(const RecomputeScope&) = delete;

 private:
  EnableGradGuard grad_;
  Generator::State saved_;
  bool was_recomputing_;
  int scope_;
};
}  // namespace

bool recomputing() { return g_recomputing; }

Tensor checkpoint(const std::string& name, CheckpointFn fn, const std::vector<Tensor>& xs) {
  bool any = false;
  for (const Tensor& x : xs) any = any || (x.defined() && x.requires_grad());
  if (!grad_enabled() || !any) return fn(xs);

  const Generator::State rng = default_generator().state();
  const int scope = record_scope();
  Tensor y;
  {
    NoGradGuard no_grad;
    y = fn(xs);
  }
  auto shared_fn = std::make_shared<CheckpointFn>(std::move(fn));
  record(y, name, xs, [shared_fn, xs, rng, scope](const Tensor& gy) {
    std::vector<Tensor> leaves;
    leaves.reserve(xs.size());
    for (const Tensor& x : xs) {
      Tensor leaf = x.defined() ? x.detach() : Tensor();
      if (leaf.defined() && x.requires_grad()) leaf.requires_grad_(true);
      leaves.push_back(leaf);
    }
    Tensor again;
    {
      RecomputeScope recompute(rng, scope);
      again = (*shared_fn)(leaves);
    }
    if (again.requires_grad()) again.backward(gy);
    std::vector<Tensor> grads;
    grads.reserve(leaves.size());
    for (const Tensor& leaf : leaves) grads.push_back(leaf.defined() ? leaf.grad() : Tensor());
    return grads;
  });
  return y;
}

}  // namespace hemo::nn
