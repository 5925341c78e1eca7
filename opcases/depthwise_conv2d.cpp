// depthwise_conv2d (kernels/depthwise_conv2d.h): groups == channels, the kernels nn::conv2d picks
// for MobileNet's 3x3 and 5x5 layers at stride 1 and 2, with and without bias; one unequal kernel,
// stride and padding. Channel counts not multiples of 8, planes smaller than the kernel.
#include "opcases/conv_case.h"

namespace hemo::opcases {
namespace {

const Registrar reg([] {
  // A large plane (56x56) comes with the bench shape, which the cuda check runs too.
  const std::vector<ConvSample> samples = {{{2, 3, 7, 6}}, {{1, 17, 2, 3}}, {{3, 10, 7, 13}}, {{3, 5, 7, 13}},
                                           {{8, 96, 15, 15}}};
  for (int64_t k : {3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (bool bias : {true, false}) {
        const ConvGeometry g{.kernel = {k, k}, .stride = {stride, stride}, .padding = {k / 2, k / 2},
                             .depthwise = true, .bias = bias};
        const ConvSample bench{{1, 144, 56, 56}};  // MobileNetV2's 56x56 block (its stride-2 one too)
        add_conv(cat("depthwise_conv2d.", k, "x", k, ".stride", stride, bias ? "" : ".nobias"), g, samples, bench);
      }
    }
  }
  add_conv("depthwise_conv2d.3x5.asymmetric",
           {.kernel = {3, 5}, .stride = {2, 1}, .padding = {0, 2}, .depthwise = true},
           {{{2, 3, 6, 7}}, {{3, 6, 10, 9}}}, {{1, 144, 56, 56}});
});

}  // namespace
}  // namespace hemo::opcases
