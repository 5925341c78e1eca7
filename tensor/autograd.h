// Reverse-mode automatic differentiation.
//
// A functional op that produces `out` from inputs that require grad records a Node on `out`:
// the inputs (the graph's edges) and a closure that, given dL/d(out), returns dL/d(input) for each
// input (an undefined Tensor for inputs it has no gradient for). `Tensor::backward()` visits the
// nodes reachable from the root in reverse topological order, sums the gradients arriving at each
// tensor, runs its hooks, stores it in `grad()` for leaves (accumulating across calls, as PyTorch
// does) and for tensors that asked to retain it, then calls the node's closure. Unless
// retain_graph is set, each node's closure and saved tensors are released after use.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hemo {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  std::string name;            // the op, for error messages and graph dumps
  std::vector<Tensor> inputs;  // edges to the tensors this output was computed from
  BackwardFn backward;         // null once the graph has been freed
  int scope = -1;              // record_scope() when recorded (profiling: the module it ran in)
};

// Gradient recording is on unless a NoGradGuard is alive on this thread.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns recording back on inside a NoGradGuard (a backward closure that re-runs a forward:
// nn::checkpoint); restores the previous mode on destruction.
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

// True when recording is on and any of `inputs` requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);

// Makes `out` a non-leaf that requires grad, computed by `name` from `inputs` (the closure must
// return one gradient per input, in order). Does nothing when needs_grad(inputs) is false.
void record(Tensor& out, std::string name, std::vector<Tensor> inputs, BackwardFn backward);

// Observation seam (`hemo profile`, tools/profiler.h; --detect-anomaly, train/anomaly.h). record() stamps each
// new node with the calling thread's scope tag, and backward() tells the thread's observer, when
// one is set, before and after each node's closure runs. Off (nullptr, -1) by default.
struct AutogradObserver {
  virtual ~AutogradObserver() = default;
  virtual void node_begin(const Node& node) = 0;
  virtual void node_end(const Node& node) = 0;
  // After node_end: the gradients the closure returned, one per input (undefined where none).
  // Anomaly detection (train/anomaly.h) looks at them.
  virtual void node_grads(const Node& /*node*/, const std::vector<Tensor>& /*grads*/) {}
};
void set_autograd_observer(AutogradObserver* observer);
void set_record_scope(int scope);
int record_scope();

// dst += src elementwise (same shape, dtype and device). The engine's accumulation, exposed for
// optimizers and tests.
void accumulate_(Tensor& dst, const Tensor& src);

}  // namespace hemo
