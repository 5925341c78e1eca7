// Loading a module's parameters and buffers from name -> tensor pairs (a state_dict).
//
// strict: every key of the module must be given with the same shape, and nothing else; any
//   difference throws one Error listing every missing key, unexpected key and shape mismatch.
// transfer: as strict, except that tensors under `head` (the classifier module's dotted name,
//   e.g. "fc" or "classifier.6") whose shapes differ are skipped and keep the module's fresh
//   initialization: ImageNet weights into a model with another class count (the papers'
//   transfer learning). Values are copied into the module's existing tensors, on their device.
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"

namespace hemo::nn {

enum class LoadMode { strict, transfer };

struct LoadReport {
  std::vector<std::string> loaded, reinitialized;
};

LoadReport load_state_dict(Module& module, const std::vector<NamedTensor>& tensors, LoadMode mode = LoadMode::strict,
                           const std::string& head = "");

// Freezes every parameter except those under `head` (paper 003: only the last layers train).
void freeze_backbone(Module& module, const std::string& head);

}  // namespace hemo::nn
