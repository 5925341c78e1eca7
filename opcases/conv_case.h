// The registry entry of one conv2d geometry (shared by conv2d.cpp and depthwise_conv2d.cpp).
#pragma once
#include <string>
#include <vector>

#include "nn/pair.h"
#include "opcases/builders.h"

namespace hemo::opcases {

struct ConvGeometry {
  nn::Pair kernel, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;      // ignored when depthwise
  bool depthwise = false;  // groups = channels = output channels, taken from each sample's x
  bool bias = true;
  bool x_grad = true;      // false: only the weight and bias are differentiated
};

// One sample: x's shape and the number of output channels (ignored when depthwise).
struct ConvSample {
  Shape x;
  int64_t out_channels = 0;
};

// Registers `name` running nn::conv2d with that geometry on each sample; bench is the typical
// layer. FLOPs: 2 N K OH OW (C / groups) R S.
void add_conv(const std::string& name, const ConvGeometry& g, const std::vector<ConvSample>& samples,
              const ConvSample& bench, Tolerances tol = {});

}  // namespace hemo::opcases
