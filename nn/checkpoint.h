// Activation checkpointing: y = fn(xs) without keeping what fn computes on the way.
//
// checkpoint(name, fn, xs) runs fn(xs) with recording off, so the tensors fn makes between its
// inputs and its output are freed as soon as forward is done, and records one node `name` from
// xs to y. Its backward re-runs fn on detached copies of xs with recording on (the recompute),
// backpropagates dL/dy through that fresh graph (parameters used inside fn receive their
// gradients there, accumulating as usual) and returns dL/dxs. Memory: the graph holds xs and y
// only; the cost is a second forward of fn during backward.
//
// Contract for fn: it must compute the same y from the same xs twice. Randomness drawn from
// default_generator() is replayed (its state at forward time is restored for the recompute and
// put back afterwards); batch norm in training mode skips its running-statistics update and its
// batch counter during a recompute, so a checkpointed step updates them exactly once; modules'
// forward hooks and the module observer (profiler) do not see a recompute (recomputing() is
// true while it runs, and Module::operator() checks it).
//
// Without recording (a NoGradGuard, eval), or when no x requires grad, it is plain fn(xs):
// parameters inside fn would otherwise be unreachable from the recorded node.
// Memory-efficient DenseNet (models/densenet.h) checkpoints each layer's concatenation, batch
// norm, ReLU and 1x1 convolution, as torchvision's memory_efficient=True does.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::nn {

using CheckpointFn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor checkpoint(const std::string& name, CheckpointFn fn, const std::vector<Tensor>& xs);

// True on this thread while a checkpoint's backward is re-running its fn.
bool recomputing();

}  // namespace hemo::nn
