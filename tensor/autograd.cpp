#include "tensor/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "kernels/accumulate.h"

namespace hemo {

namespace {
thread_local bool g_grad_enabled = true;
thread_local AutogradObserver* g_observer = nullptr;
thread_local int g_scope = -1;
}

void set_autograd_observer(AutogradObserver* observer) { g_observer = observer; }
void set_record_scope(int scope) { g_scope = scope; }
int record_scope() { return g_scope; }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& out, std::string name, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_enabled) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  auto node = std::make_shared<Node>();
  node->name = std::move(name);
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->scope = g_scope;
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
}

void accumulate_(Tensor& dst, const Tensor& src_any) {
  HEMO_CHECK(dst.shape() == src_any.shape() && dst.dtype() == src_any.dtype() && dst.device() == src_any.device(),
             "accumulate_: ", dst.str(), " += ", src_any.str(), " (shapes, dtypes and devices must match)");
  HEMO_CHECK(dst.dtype() != DType::bf16, "accumulate_: no bfloat16 implementation (", dst.str(), ")");
  // Elementwise in storage order, so both in dst's memory format.
  const Tensor src =
      src_any.memory_format() == dst.memory_format() ? src_any : src_any.detach().to(dst.memory_format());
  if (dst.is_cuda()) {
#if HEMO_WITH_CUDA
    cuda::accumulate<float>(cuda::backend, dst.numel(), src.data_any_format<float>(), dst.data_any_format<float>());
    return;
#else
    throw Error(cat("accumulate_: CUDA tensor in a build without CUDA: ", dst.str()));
#endif
  }
  if (dst.dtype() == DType::f32)
    cpu::accumulate<float>(cpu::backend, dst.numel(), src.data_any_format<float>(), dst.data_any_format<float>());
  else
    cpu::accumulate<double>(cpu::backend, dst.numel(), src.data_any_format<double>(), dst.data_any_format<double>());
}

namespace {

// Tensors reachable from `root` through grad_fn edges, each after every tensor that uses it
// (reverse topological order), found with an explicit stack so deep graphs cannot overflow it.
// The list owns its tensors: freeing a node's inputs must not free a tensor still to be visited.
std::vector<std::shared_ptr<TensorImpl>> reverse_topological(const std::shared_ptr<TensorImpl>& root) {
  std::vector<std::shared_ptr<TensorImpl>> order;
  std::unordered_set<TensorImpl*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    const Node* node = t->grad_fn.get();
    if (node && next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (in.defined() && in.requires_grad() && seen.insert(in.impl_ptr().get()).second)
        stack.push_back({in.impl_ptr(), 0});  // invalidates t and next; they are not used again
    } else {
      order.push_back(std::move(t));
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};
}

// Whether t's buffer is reachable through this one handle only: no other Tensor, view, saved copy
// or backward output shares it (a closure may hand the same tensor to several inputs, as add's
// does; the seed shares the caller's buffer), so it may be overwritten.
bool sole_owner(const Tensor& t) { return t.impl_ptr().use_count() == 1 && t.impl().storage.use_count() == 1; }

// Sums a new contribution g into the pending gradient: in place in whichever of the two buffers
// only this sum holds (float addition commutes exactly, so either order gives the same bits), and
// into a fresh copy only when both are shared. `g` is moved from.
void add_pending(Tensor& pending, Tensor&& g) {
  if (!pending.defined()) {
    pending = std::move(g);
  } else if (sole_owner(pending)) {
    accumulate_(pending, g);
  } else if (sole_owner(g)) {
    accumulate_(g, pending);
    pending = std::move(g);
  } else {
    Tensor sum = pending.detach().clone();
    accumulate_(sum, g);
    pending = sum;
  }
}

}  // namespace

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  HEMO_CHECK(requires_grad(), "backward() on a tensor that does not require grad: nothing it was computed "
                              "from has requires_grad=true (or it was computed under a NoGradGuard)");
  Tensor seed = grad;
  if (!seed.defined()) {
    HEMO_CHECK(numel() == 1, "backward() without a gradient needs a one-element output; this is ", str());
    seed = Tensor::ones(shape(), dtype(), device());
  }
  HEMO_CHECK(seed.shape() == shape() && seed.dtype() == dtype() && seed.device() == device(), "backward(): gradient ",
             seed.str(), " does not match the output ", str());

  NoGradGuard no_grad;  // closures build plain tensors, not graphs of graphs
  std::unordered_map<TensorImpl*, Tensor> pending;
  pending[impl_ptr().get()] = seed.detach();

  for (const std::shared_ptr<TensorImpl>& t : reverse_topological(impl_ptr())) {
    auto it = pending.find(t.get());
    if (it == pending.end()) continue;  // no gradient flowed here (e.g. an unused branch)
    Tensor g = it->second;
    pending.erase(it);
    for (const GradHook& hook : t->hooks) {
      Tensor replaced = hook(g);
      if (replaced.defined()) g = replaced;
    }
    // A gradient on another device than its tensor would hand device pointers to host code (or
    // the reverse) in the next backward: an error here names it instead.
    HEMO_CHECK(g.device() == t->storage->device(), "backward(): a gradient on ", g.device().str(),
               " reached a tensor on ", t->storage->device().str(), " (from a gradient hook?)");
    // A gradient is stored like its tensor (tensor.h, memory format): a closure reads gy in the
    // format of the output it recorded, and a leaf's grad() in its own.
    if (g.memory_format() != t->format) g = g.to(t->format);
    if (!t->grad_fn || t->retains_grad) {
      if (t->grad) {
        Tensor acc(t->grad);
        accumulate_(acc, g);
      } else {
        // A copy even when no one else holds g: taking g's buffer instead raised a MobileNetV2
        // training step's peak RSS by 57 MiB (the buffers outlive the step, scattered through the
        // heap), for no measurable time.
        t->grad = g.clone().impl_ptr();
      }
    }
    Node* node = t->grad_fn.get();
    if (!node) continue;
    HEMO_CHECK(node->backward != nullptr, "backward() through the graph of '", node->name,
               "' a second time: its saved tensors were freed; pass retain_graph=true the first time");
    if (g_observer) g_observer->node_begin(*node);
    std::vector<Tensor> grads = node->backward(g);
    if (g_observer) {
      g_observer->node_end(*node);
      g_observer->node_grads(*node, grads);
    }
    HEMO_CHECK(grads.size() == node->inputs.size(), "internal: ", node->name, " returned ", grads.size(),
               " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Tensor& in = node->inputs[i];
      if (!in.defined() || !in.requires_grad() || !grads[i].defined()) continue;
      HEMO_CHECK(grads[i].shape() == in.shape(), "internal: ", node->name, " gave a gradient of shape ",
                 shape_str(grads[i].shape()), " for input ", i, " of shape ", shape_str(in.shape()));
      HEMO_CHECK(grads[i].device() == in.device(), "internal: ", node->name, " gave a gradient on ",
                 grads[i].device().str(), " for input ", i, " on ", in.device().str());
      add_pending(pending[in.impl_ptr().get()], std::move(grads[i]));
    }
    if (!retain_graph) {
      node->backward = nullptr;
      node->inputs.clear();
    }
  }
}

}  // namespace hemo
