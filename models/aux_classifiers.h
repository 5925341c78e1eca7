// Models with auxiliary classifiers (GoogLeNet, Inception-v3): in training mode their forward also
// runs the side heads on intermediate features and keeps those logits until they are taken; the
// trainer (and the parity test) adds weight * loss(aux logits) to the main loss, as torchvision's
// reference recipe does: GoogLeNet 0.3 for each of its two, Inception-v3 0.4. In eval mode no
// auxiliary logits are computed, and models::prepare_for_inference removes the side heads.
#pragma once
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::models {

class AuxClassifiers {
 public:
  virtual ~AuxClassifiers() = default;
  // The auxiliary logits of the last training-mode forward with their loss weights, in the order
  // they were computed; the model keeps none afterwards (nothing is held across steps).
  virtual std::vector<std::pair<double, Tensor>> take_aux_logits() = 0;
  // Drops the auxiliary heads from the module tree (for inference: models/inference.h).
  virtual void remove_aux_classifiers() = 0;
};

}  // namespace hemo::models
