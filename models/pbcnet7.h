// pbcnet7: the 7-block CNN of source paper 003 (Asghar et al. 2023; ../shared/docs/RECIPES.md).
//
//   features.<b> (b = 0..6) = Sequential(
//       0 Conv2d(c_in, c_out, 3, padding 1)   3x3 'same', with bias; c_out = 32 64 64 64 128 256 256
//       1 ReLU
//       2 MaxPool2d(2, pool_stride, ceil_mode)   Keras 'same' pooling: 100 50 25 13 7 4 2 1 at stride 2
//       3 Dropout(0.25))
//   flatten
//   classifier = Sequential(0 Linear(256 f f, 128), 1 ReLU, 2 Linear(128, num_classes))   (head: classifier.2)
//
// f, the side after the seventh pool, depends on the input size (default 100) and the pool stride
// (default 2; the paper's literal stride 1 gives f = 93 and a 283M-weight first dense layer).
// The one PyTorch definition, name for name, is tools/pbcnet7_torch.py. Initialization:
// convolutions kaiming_normal_(fan_out, relu) with zero bias; the Linear layers keep torch.nn's
// default.
#pragma once
#include <cstdint>
#include <memory>

#include "models/summary.h"
#include "nn/module.h"
#include "tensor/rng.h"

namespace hemo::models {

class PBCNet7 : public nn::Module, public Traceable {
 public:
  static constexpr int64_t kDefaultInput = 100;
  PBCNet7(int64_t num_classes, int64_t input_size, int64_t pool_stride, double dropout, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "PBCNet7"; }
  Shape trace(ShapeTracer& t, const Shape& in) override;
  // The spatial side after the seven pools; an Error when the input is too small.
  static int64_t feature_side(int64_t input_size, int64_t pool_stride);
  std::shared_ptr<nn::Sequential> features, classifier;
};

}  // namespace hemo::models
