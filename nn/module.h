// Module: a node of a model tree, owning parameters, buffers and named child modules, in
// registration order, so that a parameter's dotted path ("layer3.2.bn2.running_var") is exactly
// its torchvision state_dict key.
//
// A module registers pointers to its own Tensor members (register_parameter(&weight_)); the
// tree can then be walked, moved between devices, switched between train and eval mode, and
// loaded from or saved to a name -> tensor map without any per-model code. Modules are held by
// std::shared_ptr; children are registered once, in the order torchvision declares them.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
using NamedTensor = std::pair<std::string, Tensor>;
// Called with the module and its output after every forward (Grad-CAM hooks the target layer).
using ForwardHook = std::function<void(Module&, const Tensor& output)>;

// Profiling seam (`hemo profile`, tools/profiler.h): when set on the calling thread, operator()
// tells the observer as each module's forward starts and ends. Off (nullptr) by default.
struct ModuleObserver {
  virtual ~ModuleObserver() = default;
  virtual void enter(Module& m, const Tensor& input) = 0;
  virtual void exit(Module& m, const Tensor& output) = 0;
};
void set_module_observer(ModuleObserver* observer);

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // forward(x), told to the module observer (profiler) and followed by the forward hooks.
  Tensor operator()(const Tensor& x);
  // As operator(), with `body` (callable as Tensor(const Tensor&)) run in place of forward: for a
  // fused forward that stands for this module's (nn/fusion.h). A template, so that a call costs
  // no std::function.
  template <class Body>
  Tensor run_as_forward(const Tensor& x, Body&& body) {
    if (!observed_forward_begins(x)) return body(x);
    Tensor y = body(x);
    observed_forward_ends(y);
    return y;
  }

  virtual std::string type_name() const = 0;      // "Conv2d", "Sequential", ...
  virtual std::string extra_repr() const { return ""; }  // "3, 64, kernel=3x3, stride=1"

  // ---- the tree ----
  std::vector<NamedTensor> named_parameters(bool recurse = true) const;
  std::vector<NamedTensor> named_buffers(bool recurse = true) const;
  std::vector<NamedTensor> state_dict() const;  // parameters then buffers of each module, depth first
  std::vector<std::pair<std::string, ModulePtr>> named_children() const { return children_; }
  std::vector<std::pair<std::string, Module*>> named_modules(const std::string& prefix = "");
  Module* find(const std::string& dotted_name);  // nullptr when absent; "" is this module
  // Puts `m` in the place of the direct child `name` (same name, same position) and returns the
  // old one: PyTorch's `setattr(parent, name, m)`, for passes that rewrite a tree (models/
  // inference.h replaces folded batch norms and dropouts with Identity). Throws when there is no
  // such child, or when the old child is also held elsewhere (a member pointer of the parent,
  // whose forward would go on calling it): a replacement is never silently ignored. Callers must
  // not hold their own shared_ptr to the old child while calling.
  ModulePtr replace_child(const std::string& name, ModulePtr m);
  // Takes the direct child `name` out of the tree (its parameters leave state_dict) and returns
  // it; the same checks as replace_child. For a parent whose forward no longer calls it
  // (GoogLeNet's auxiliary heads at inference: models/aux_classifiers.h).
  ModulePtr remove_child(const std::string& name);
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;

  // ---- state ----
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void to(Device device);  // moves parameters and buffers, keeping requires_grad
  void zero_grad();
  void set_requires_grad(bool on);  // on every parameter of this subtree (freezing)
  // Returns an id that remove_forward_hook takes (Grad-CAM removes its own hook when done).
  size_t register_forward_hook(ForwardHook hook);
  void remove_forward_hook(size_t id);  // an unknown id is ignored
  void clear_forward_hooks() { hooks_.clear(); }
  bool has_forward_hooks() const { return !hooks_.empty(); }

  std::string repr(int indent = 0) const;  // PyTorch-style tree printout

 protected:
  void register_parameter(std::string name, Tensor* t, bool requires_grad = true);
  void register_buffer(std::string name, Tensor* t);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    children_.emplace_back(std::move(name), m);
    return m;
  }
  ModulePtr child(size_t i) const { return children_.at(i).second; }
  size_t child_count() const { return children_.size(); }

 private:
  // run_as_forward's two halves: false when nothing is to be told (nn::checkpoint's second forward,
  // not a forward to observe), else tells the observer the forward starts; then tells it the
  // forward ended and runs the forward hooks.
  bool observed_forward_begins(const Tensor& x);
  void observed_forward_ends(const Tensor& y);
  std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
  std::vector<std::pair<size_t, ForwardHook>> hooks_;
  size_t next_hook_id_ = 0;
  bool training_ = true;
};

// Runs its children in order: torchvision's nn.Sequential (children named "0", "1", ..., or, as
// nn.Sequential(OrderedDict(...)), by the names given). A batch norm and the ReLU / ReLU6 after it
// run as one fused op, and so does, in a forward that records nothing, a convolution with the
// batch norm and activation after it (nn/fusion.h).
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<ModulePtr> layers);
  explicit Sequential(std::vector<std::pair<std::string, ModulePtr>> named_layers);
  void push_back(std::string name, ModulePtr m) { register_module(std::move(name), std::move(m)); }
  void push_back(ModulePtr m) { register_module(std::to_string(child_count()), std::move(m)); }
  size_t size() const { return child_count(); }
  ModulePtr operator[](size_t i) const { return child(i); }
  Tensor forward(const Tensor& x) override { return forward_range(0, size(), x); }
  // Runs children [from, to) in order (fusing as forward does): for a parent that runs a
  // Sequential in parts (DenseNet's checkpointed bottleneck).
  Tensor forward_range(size_t from, size_t to, const Tensor& x);
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace hemo::nn
