#include "train/anomaly.h"

#include <cmath>

#include "core/error.h"
#include "nn/ops_reduce.h"

namespace hemo::train {

bool all_finite(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return true;
  NoGradGuard no_grad;
  if (std::isfinite(nn::sum(t).item())) return true;  // a NaN or an infinity makes the sum non-finite
  // Non-finite sum: a NaN or an infinity, or finite values whose sum overflowed. Look at each.
  auto finite = [](const auto& v) {
    for (const auto x : v)
      if (!std::isfinite(x)) return false;
    return true;
  };
  if (t.dtype() == DType::f64) return finite(t.to_vector<double>());
  return finite(t.to(DType::f32).to_vector<float>());
}

std::string first_nonfinite_grad(const std::vector<nn::NamedTensor>& params) {
  for (const auto& [name, p] : params)
    if (p.grad().defined() && !all_finite(p.grad())) return name;
  return "";
}

AnomalyDetector::AnomalyDetector(nn::Module& model) {
  for (const auto& [name, m] : model.named_modules()) {
    scope_of_[m] = static_cast<int>(names_.size());
    names_.push_back(cat(name.empty() ? "the model" : name, " (", m->type_name(), ")"));
    leaf_.push_back(m->named_children().empty());
  }
}

AnomalyDetector::Watch::Watch(AnomalyDetector& d) : previous_scope_(record_scope()) {
  d.finding_.clear();
  d.stack_.clear();
  nn::set_module_observer(&d);
  set_autograd_observer(&d);
}

AnomalyDetector::Watch::~Watch() {
  nn::set_module_observer(nullptr);
  set_autograd_observer(nullptr);
  set_record_scope(previous_scope_);
}

std::string AnomalyDetector::name_of(int scope) const {
  return scope >= 0 && scope < static_cast<int>(names_.size()) ? names_[static_cast<size_t>(scope)] : "no module";
}

void AnomalyDetector::enter(nn::Module& m, const Tensor&) {
  const auto it = scope_of_.find(&m);
  stack_.push_back(it == scope_of_.end() ? -1 : it->second);
  set_record_scope(stack_.back());  // the nodes this forward records carry the module
}

void AnomalyDetector::exit(nn::Module&, const Tensor& output) {
  const int scope = stack_.empty() ? -1 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
  set_record_scope(stack_.empty() ? -1 : stack_.back());
  if (!finding_.empty() || scope < 0 || all_finite(output)) return;
  // Submodules exit first: a non-leaf gets here only when all of theirs were finite.
  finding_ = leaf_[static_cast<size_t>(scope)]
                 ? cat("forward: the output of ", name_of(scope), " is the first non-finite value, from an input that "
                       "was finite")
                 : cat("forward: the output of ", name_of(scope), " is non-finite while its submodules' outputs were "
                       "finite: it arose in its own forward (a residual addition, a concatenation)");
}

void AnomalyDetector::node_grads(const Node& node, const std::vector<Tensor>& grads) {
  if (!finding_.empty()) return;
  for (size_t i = 0; i < grads.size(); ++i)
    if (!all_finite(grads[i])) {
      finding_ = cat("backward: '", node.name, "' in ", name_of(node.scope),
                     " is the first op to give a non-finite gradient (for its input ", i,
                     "), from a finite gradient of its output");
      return;
    }
}

}  // namespace hemo::train
