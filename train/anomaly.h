// Non-finite values (NaN, ±inf) in training, and where they arise.
//
// Every step the trainer checks the loss and the gradients' global norm (train/optim.h grad_norm:
// one reduction, one device-to-host copy). On a non-finite one it names the step and the first
// parameter, in the model's order, whose gradient is non-finite (first_nonfinite_grad): where the
// bad values ended up, not necessarily where they arose. AnomalyDetector (--detect-anomaly) finds
// that, as torch.autograd.detect_anomaly does, at the price of a check after every layer and every
// backward op of every step:
//   forward:  the first module, in execution order, whose output is non-finite (a leaf, or a
//             container whose own arithmetic made it so: a residual addition);
//   backward: else the first backward op whose gradient for an input is non-finite, named with the
//             module whose forward recorded it.
// Both observe through the framework's seams (nn/module.h ModuleObserver; tensor/autograd.h
// AutogradObserver and the record scope), installed on the calling thread while a Watch lives.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/module.h"
#include "tensor/autograd.h"

namespace hemo::train {

// Whether every element is finite (any device, f32 or f64): a sum on the tensor's device, and
// only when that is non-finite (or overflows) an elementwise look on the host.
bool all_finite(const Tensor& t);

// The name of the first parameter whose gradient holds a non-finite value; "" when none does.
std::string first_nonfinite_grad(const std::vector<nn::NamedTensor>& params);

class AnomalyDetector : public nn::ModuleObserver, public AutogradObserver {
 public:
  explicit AnomalyDetector(nn::Module& model);  // names every module of `model`

  // Observes the calling thread while alive (one forward and backward); finding() resets at start.
  class Watch {
   public:
    explicit Watch(AnomalyDetector& d);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    int previous_scope_;
  };

  // "" while nothing non-finite was seen, else e.g.
  // "forward: the output of features.3 (Conv2d) is the first non-finite value".
  const std::string& finding() const { return finding_; }

  void enter(nn::Module& m, const Tensor& input) override;
  void exit(nn::Module& m, const Tensor& output) override;
  void node_begin(const Node&) override {}
  void node_end(const Node&) override {}
  void node_grads(const Node& node, const std::vector<Tensor>& grads) override;

 private:
  std::string name_of(int scope) const;

  std::unordered_map<const nn::Module*, int> scope_of_;  // module -> index into names_
  std::vector<std::string> names_;
  std::vector<bool> leaf_;
  std::vector<int> stack_;  // scopes of the modules whose forward is running
  std::string finding_;
};

}  // namespace hemo::train
