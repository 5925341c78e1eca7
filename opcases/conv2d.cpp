// conv2d (kernels/conv2d.h): dense and grouped convolutions through nn::conv2d. Odd channel counts
// and planes; a 40x60 output (the GEMM batches two images, then the third alone); an empty batch;
// a ResNet stem and a downsampling block.
#include "opcases/conv_case.h"

namespace hemo::opcases {
namespace {

const Registrar reg([] {
  const Tolerances cudnn{.cuda_fwd = 3e-4, .cuda_bwd = 3e-4};  // Winograd / FFT algorithms round more
  add_conv("conv2d.3x3", {.kernel = {3, 3}, .padding = {1, 1}},
           {{{2, 3, 5, 4}, 4}, {{3, 5, 7, 13}, 6}, {{3, 5, 7, 13}, 11}, {{3, 4, 40, 60}, 7}, {{0, 3, 8, 8}, 4}},
           {{1, 64, 56, 56}, 64}, cudnn);
  add_conv("conv2d.3x3.x_nograd", {.kernel = {3, 3}, .padding = {1, 1}, .x_grad = false},
           {{{2, 3, 5, 4}, 4}, {{3, 5, 7, 13}, 6}}, {{1, 64, 56, 56}, 64}, cudnn);
  add_conv("conv2d.3x3.stride2", {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}},
           {{{2, 3, 6, 5}, 3}, {{4, 32, 28, 28}, 64}}, {{1, 128, 28, 28}, 256}, cudnn);
  add_conv("conv2d.3x3.stride2.nobias", {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .bias = false},
           {{{2, 3, 7, 6}, 4}, {{3, 5, 7, 13}, 6}}, {{1, 128, 28, 28}, 256}, cudnn);
  add_conv("conv2d.3x3.dilation2", {.kernel = {3, 3}, .padding = {2, 2}, .dilation = {2, 2}},
           {{{2, 3, 6, 6}, 3}, {{3, 5, 7, 13}, 6}, {{1, 4, 12, 12}, 4}}, {{1, 256, 14, 14}, 256}, cudnn);
  add_conv("conv2d.3x2.dilation2x1.nobias", {.kernel = {3, 2}, .padding = {1, 1}, .dilation = {2, 1}, .bias = false},
           {{{2, 3, 5, 6}, 4}}, {{1, 64, 28, 28}, 64}, cudnn);
  add_conv("conv2d.5x3.asymmetric", {.kernel = {5, 3}, .stride = {1, 2}, .padding = {2, 1}, .dilation = {1, 2}},
           {{{2, 3, 7, 8}, 3}, {{3, 5, 7, 13}, 4}}, {{1, 64, 28, 28}, 64}, cudnn);
  add_conv("conv2d.1x1", {.kernel = {1, 1}}, {{{3, 3, 4, 3}, 5}, {{3, 5, 7, 13}, 11}}, {{1, 24, 56, 56}, 144}, cudnn);
  // MobileNet's pointwise convolutions carry no bias (a batch norm follows).
  add_conv("conv2d.1x1.nobias", {.kernel = {1, 1}, .bias = false}, {{{2, 3, 3, 4}, 4}, {{3, 8, 9, 9}, 12}},
           {{1, 144, 56, 56}, 24}, cudnn);
  add_conv("conv2d.groups2", {.kernel = {3, 3}, .stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2},
           {{{2, 4, 6, 5}, 6}}, {{1, 64, 28, 28}, 64}, cudnn);
  add_conv("conv2d.groups3", {.kernel = {3, 3}, .stride = {2, 1}, .padding = {1, 0}, .groups = 3},
           {{{2, 6, 11, 10}, 9}, {{3, 6, 7, 13}, 9}}, {{1, 96, 28, 28}, 96}, cudnn);
  add_conv("conv2d.7x7.stride2", {.kernel = {7, 7}, .stride = {2, 2}, .padding = {3, 3}},
           {{{1, 2, 9, 8}, 3}, {{2, 3, 33, 31}, 16}}, {{1, 3, 224, 224}, 64}, cudnn);
});

}  // namespace
}  // namespace hemo::opcases
