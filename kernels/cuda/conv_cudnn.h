// Dense (and grouped) 2-d convolution on the GPU through cuDNN 9, float32 or bfloat16, NCHW or
// NHWC.
//
// Shapes as kernels/conv2d.h: x [n, c, h, w], weight [k, c / groups, r, s], y [n, k, p, q]. With
// g.channels_last, x, y and their gradients are stored NHWC and the weight (and its gradient) in
// cuDNN's NHWC filter order, [k, r, s, c / groups] (kernels/cuda/conv2d.cpp makes that copy). All
// three OVERWRITE their output (cuDNN's beta = 0: the old contents are never read). Bias is not
// part of these calls (kernels/cuda/conv2d.cpp adds it).
//
// Element type `t`: DType::f32, or DType::bf16, where x, weight, y and the gradients are all
// bfloat16 and cuDNN sums the products in float32 and rounds the result to bf16 (its bf16
// configuration, with tensor cores allowed); kernels/cuda/conv2d.cpp makes the bf16 copies under
// --precision bf16 (kernels/cuda/blas.h: bf16_products).
//
// Algorithm choice (kernels/cuda/conv_algo.h, once per (device, shape, direction, element type,
// TF32 switch), cached for the process): a timed search by default, cudnnFind*AlgorithmEx running
// every candidate once on the call's own buffers (the output is then computed again by the
// choice), or cuDNN's heuristics alone (cudnnGet*Algorithm_v7) with HEMO_CUDNN_SEARCH=heuristic.
// From either list, fastest or best-ranked first, the first candidate that is supported,
// deterministic when any deterministic one qualifies, honours the TF32 switch of
// kernels/cuda/blas.h for float32 (off: FMA math only; bf16 always may use tensor cores), and
// needs at most the workspace limit. A chosen algorithm that answers NOT_SUPPORTED when run is
// dropped and the next candidate runs. The workspace comes from the caching allocator
// (core/cuda/device_buffer.h) for the call's duration (a timed search borrows up to the limit).
// The limit is 256 MiB, or HEMO_CUDNN_WORKSPACE_MB from the environment.
//
// In a build without cuDNN (cmake/cuda.cmake explains when) every function throws hemo::Error
// saying so: a dense convolution on a CUDA tensor never falls back to anything else.
#pragma once
#include <cstddef>
#include <cstdint>

#include <string>

#include "core/dtype.h"
#include "kernels/conv2d.h"
#include "kernels/conv_epilogue.h"

namespace hemo::cuda {


bool cudnn_available();  // built with cuDNN

void cudnn_conv_fwd(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y);
void cudnn_conv_bwd_data(const Conv2dShape& g, DType t, const void* weight, const void* gy, void* gx);
void cudnn_conv_bwd_filter(const Conv2dShape& g, DType t, const void* x, const void* gy, void* gweight);

// The convolution and its epilogue (kernels/conv_epilogue.h) as one cuDNN graph, runtime fusion:
//   conv_fprop(x, w) -> [+ bias] -> [* a + s] -> [+ r] -> [relu, clipped at 6 for relu6] -> y
// with every intermediate virtual (float32, never written to memory) and y float32 in x's layout.
// When e.batch_norm(), e.a and e.s must hold its coefficients (kernels/cuda/epilogue_coefs.h),
// each 16-byte aligned; e's pointers are device pointers; x and weight as cudnn_conv_fwd takes
// them (type t). Returns false, having queued nothing, when no engine takes
// the graph: cuDNN offers runtime fusion only for some shapes, types and devices, and hemo asks
// only where tensor cores are allowed (t bf16, or float32 with TF32 on: kernels/cuda/blas.h) and
// for ungrouped convolutions. The plan (heuristics' first engine configuration that finalizes
// within the workspace limit), or the refusal, is cached per (device, shape, type, epilogue form).
bool cudnn_conv_fwd_fused(const Conv2dShape& g, DType t, const void* x, const void* weight,
                          const ConvEpilogue<float>& e, float* y);

// The convolution and its output's per-channel statistics as one cuDNN graph (runtime fusion; the
// first graph of cuDNN's convolution + batch-norm training pattern, "genstats"):
//   y = conv_fprop(x, w)   (written, type t, x's layout)
//   sum[k] = sum of y[., k, ., .],  sqsum[k] = sum of y[., k, ., .]^2   (float32, [k], 16-byte aligned)
// over the n p q output positions, accumulated in float32 by the engine (whether from y before or
// after its rounding to bf16 is the engine's choice). A training batch norm then needs no pass of
// its own over y for its statistics (kernels/batchnorm.h: BatchNormTrainFwd::sum). The same
// conditions, plan cache and refusals as cudnn_conv_fwd_fused (one more form of the key); false,
// having queued nothing, when no engine takes the graph.
bool cudnn_conv_fwd_stats(const Conv2dShape& g, DType t, const void* x, const void* weight, void* y, float* sum,
                          float* sqsum);

// Fused graphs planned and refused so far, and the first refusal's reason (for `hemo bench`,
// tools/gpu-check.sh and tests).
struct CudnnFusionStats {
  size_t planned = 0, refused = 0;
  std::string first_refusal;
};
CudnnFusionStats cudnn_fusion_stats();

size_t cudnn_workspace_limit();  // bytes
size_t cudnn_cached_algorithms();  // how many (shape, direction) choices are cached

}  // namespace hemo::cuda
