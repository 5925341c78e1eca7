// The eval batch norm's per-channel coefficients of a convolution epilogue (kernels/conv_epilogue.h:
// a_o and s_o), written to device arrays for the kernels that apply them: the epilogue kernel of
// kernels/cuda/conv_epilogue.cu and cuDNN's fused graph (kernels/cuda/conv2d.cpp).
#pragma once
#include <cstdint>

#include "kernels/conv_epilogue.h"

namespace hemo::cuda {

// a[o], s[o] for o < k (device pointers, on the current stream); e.batch_norm() must hold.
void epilogue_coefs(int64_t k, const ConvEpilogue<float>& e, float* a, float* s);

}  // namespace hemo::cuda
