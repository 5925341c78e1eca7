#include "nn/module.h"

#include <sstream>

#include "nn/checkpoint.h"
#include "nn/fusion.h"

namespace hemo::nn {

namespace {
thread_local ModuleObserver* g_module_observer = nullptr;
}

void set_module_observer(ModuleObserver* observer) { g_module_observer = observer; }

Tensor Module::operator()(const Tensor& x) {
  return run_as_forward(x, [this](const Tensor& in) { return forward(in); });
}

bool Module::observed_forward_begins(const Tensor& x) {
  if (recomputing()) return false;
  if (g_module_observer) g_module_observer->enter(*this, x);
  return true;
}

void Module::observed_forward_ends(const Tensor& y) {
  if (g_module_observer) g_module_observer->exit(*this, y);
  for (const auto& [id, hook] : hooks_) hook(*this, y);
}

size_t Module::register_forward_hook(ForwardHook hook) {
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Module::remove_forward_hook(size_t id) {
  std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
}

void Module::register_parameter(std::string name, Tensor* t, bool requires_grad) {
  HEMO_CHECK(t && t->defined(), type_name(), ": parameter '", name, "' registered undefined");
  t->requires_grad_(requires_grad);
  params_.emplace_back(std::move(name), t);
}

void Module::register_buffer(std::string name, Tensor* t) {
  HEMO_CHECK(t && t->defined(), type_name(), ": buffer '", name, "' registered undefined");
  buffers_.emplace_back(std::move(name), t);
}

namespace {
std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

}  // namespace

std::vector<NamedTensor> Module::named_parameters(bool recurse) const {
  std::vector<NamedTensor> out;
  for (const auto& [n, t] : params_) out.emplace_back(n, *t);
  if (recurse)
    for (const auto& [cn, c] : children_)
      for (auto& [n, t] : c->named_parameters(true)) out.emplace_back(join(cn, n), t);
  return out;
}

std::vector<NamedTensor> Module::named_buffers(bool recurse) const {
  std::vector<NamedTensor> out;
  for (const auto& [n, t] : buffers_) out.emplace_back(n, *t);
  if (recurse)
    for (const auto& [cn, c] : children_)
      for (auto& [n, t] : c->named_buffers(true)) out.emplace_back(join(cn, n), t);
  return out;
}

std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  for (const auto& [n, t] : params_) out.emplace_back(n, *t);
  for (const auto& [n, t] : buffers_) out.emplace_back(n, *t);
  for (const auto& [cn, c] : children_)
    for (auto& [n, t] : c->state_dict()) out.emplace_back(join(cn, n), t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, Module*>> out{{prefix, this}};
  for (const auto& [cn, c] : children_)
    for (auto& entry : c->named_modules(join(prefix, cn))) out.push_back(entry);
  return out;
}

Module* Module::find(const std::string& dotted_name) {
  if (dotted_name.empty()) return this;
  size_t dot = dotted_name.find('.');
  std::string head = dotted_name.substr(0, dot);
  for (const auto& [cn, c] : children_)
    if (cn == head) return dot == std::string::npos ? c.get() : c->find(dotted_name.substr(dot + 1));
  return nullptr;
}

ModulePtr Module::replace_child(const std::string& name, ModulePtr m) {
  HEMO_CHECK(m != nullptr, type_name(), ".replace_child('", name, "'): the new module is null");
  for (auto& [cn, c] : children_) {
    if (cn != name) continue;
    HEMO_CHECK(c.use_count() == 1, type_name(), ".replace_child('", name, "'): the ", c->type_name(),
               " there is also held outside the tree (a member pointer?), so forward would keep calling it");
    ModulePtr old = std::move(c);
    c = std::move(m);
    return old;
  }
  throw Error(cat(type_name(), ".replace_child('", name, "'): no such child"));
}

ModulePtr Module::remove_child(const std::string& name) {
  for (auto it = children_.begin(); it != children_.end(); ++it) {
    if (it->first != name) continue;
    HEMO_CHECK(it->second.use_count() == 1, type_name(), ".remove_child('", name, "'): the ", it->second->type_name(),
               " there is also held outside the tree (a member pointer?), so forward would keep calling it");
    ModulePtr old = std::move(it->second);
    children_.erase(it);
    return old;
  }
  throw Error(cat(type_name(), ".remove_child('", name, "'): no such child"));
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(Device device) {
  for (auto& [n, t] : params_) {
    if (t->device() == device) continue;  // keep the handle: an optimizer built earlier holds it
    bool rg = t->requires_grad();
    *t = t->detach().to(device);
    t->requires_grad_(rg);
  }
  for (auto& [n, t] : buffers_)
    if (t->device() != device) *t = t->to(device);
  for (auto& [n, c] : children_) c->to(device);
}

void Module::zero_grad() {
  for (auto& [n, t] : params_) t->zero_grad();
  for (auto& [n, c] : children_) c->zero_grad();
}

void Module::set_requires_grad(bool on) {
  for (auto& [n, t] : params_) t->requires_grad_(on);
  for (auto& [n, c] : children_) c->set_requires_grad(on);
}

std::string Module::repr(int indent) const {
  std::ostringstream os;
  os << type_name() << "(" << extra_repr();
  if (!children_.empty()) {
    os << "\n";
    for (const auto& [cn, c] : children_)
      os << std::string(static_cast<size_t>(indent + 2), ' ') << "(" << cn << "): " << c->repr(indent + 2) << "\n";
    os << std::string(static_cast<size_t>(indent), ' ');
  }
  os << ")";
  return os.str();
}

Sequential::Sequential(std::vector<ModulePtr> layers) {
  for (auto& m : layers) push_back(std::move(m));
}

Sequential::Sequential(std::vector<std::pair<std::string, ModulePtr>> named_layers) {
  for (auto& [name, m] : named_layers) push_back(std::move(name), std::move(m));
}

Tensor Sequential::forward_range(size_t from, size_t to, const Tensor& x) {
  HEMO_CHECK(from <= to && to <= child_count(), "Sequential: children [", from, ", ", to, ") of ", child_count());
  Tensor y = x;
  for (size_t i = from; i < to; ++i) {
    if (const size_t run = conv_run(*this, i, to, y, y)) {
      i += run - 1;
    } else if (i + 1 < to && fusable(*child(i), *child(i + 1))) {
      y = bn_act(*child(i), *child(i + 1), y);
      ++i;
    } else {
      y = (*child(i))(y);
    }
  }
  return y;
}

}  // namespace hemo::nn
