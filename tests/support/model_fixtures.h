// Models with weights worth testing inference on. A fresh model's batch norms are near the
// identity, and random statistics let a deep model's activations blow up until ReLU6 saturates
// and the logits stop depending on the input; calibrate_batchnorms gives every batch norm the
// statistics of a real batch (one training-mode forward with momentum 1), then random affine
// parameters, and leaves the model in eval mode.
#pragma once
#include <vector>

#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/autograd.h"
#include "tests/support/random.h"

namespace hemo::test {

inline void calibrate_batchnorms(nn::Module& model, int64_t side, uint64_t seed) {
  std::vector<nn::BatchNorm2d*> bns;
  for (auto& [name, m] : model.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m)) bns.push_back(bn);
  std::vector<double> momentum;
  for (auto* bn : bns) {
    momentum.push_back(bn->momentum);
    bn->momentum = 1.0;
  }
  NoGradGuard no_grad;
  model.train();
  model(random_tensor({4, 3, side, side}, seed, DType::f32));
  Generator g(seed);
  for (size_t i = 0; i < bns.size(); ++i) {
    bns[i]->momentum = momentum[i];
    nn::uniform_(bns[i]->weight, g, 0.5, 1.5);
    nn::uniform_(bns[i]->bias, g, -0.2, 0.2);
  }
  model.eval();
}

}  // namespace hemo::test
