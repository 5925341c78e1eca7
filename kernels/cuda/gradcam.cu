// CUDA Grad-CAM kernels (the contract is kernels/gradcam.h; the scalar formulas are
// kernels/gradcam_math.h, shared with the CPU reference). Channel weights: one block per (image,
// channel) plane, tree sums in double. Weighted sum: one thread per output position, adding the
// channels in the reference's order. Normalization: one block per image (min and max are exact).
// Resize, colour map and overlay: one thread per output element.
#include "kernels/cuda/launch.cuh"
#include "kernels/gradcam.h"
#include "kernels/gradcam_math.h"

namespace hemo::cuda {

namespace {
template <class T>
__global__ void cam_weights_kernel(CamMethod method, int64_t hw, const T* __restrict__ act, const T* __restrict__ grad,
                                   T* __restrict__ weights) {
  const int64_t plane = blockIdx.x;
  const T* a = act + plane * hw;
  const T* g = grad + plane * hw;
  double w = 0;
  if (method == CamMethod::gradcam) {
    for (int64_t p : block_stride(hw)) w += static_cast<double>(g[p]);
    w = block_sum(w) / static_cast<double>(hw);
  } else {
    double sum_a = 0;
    for (int64_t p : block_stride(hw)) sum_a += static_cast<double>(a[p]);
    sum_a = block_sum(sum_a);
    for (int64_t p : block_stride(hw)) w += gradcam_math::gradcampp_term(static_cast<double>(g[p]), sum_a);
    w = block_sum(w);
  }
  if (threadIdx.x == 0) weights[plane] = static_cast<T>(w);
}

template <class T>
__global__ void weighted_sum_relu_kernel(int64_t n, int64_t c, int64_t hw, const T* __restrict__ act,
                                         const T* __restrict__ weights, T* __restrict__ cam) {
  for (int64_t e : grid_stride(n * hw)) {
    const int64_t i = e / hw, p = e % hw;
    double s = 0;
    for (int64_t k = 0; k < c; ++k)
      s += static_cast<double>(weights[i * c + k]) * static_cast<double>(act[(i * c + k) * hw + p]);
    cam[e] = static_cast<T>(s > 0 ? s : 0);
  }
}

template <class T>
__global__ void normalize_kernel(int64_t hw, const T* __restrict__ x, T* __restrict__ y) {
  const T* src = x + static_cast<int64_t>(blockIdx.x) * hw;
  T* dst = y + static_cast<int64_t>(blockIdx.x) * hw;
  T hi = static_cast<T>(-INFINITY), neg_lo = static_cast<T>(-INFINITY);
  for (int64_t p : block_stride(hw)) {
    hi = src[p] > hi ? src[p] : hi;
    neg_lo = -src[p] > neg_lo ? -src[p] : neg_lo;
  }
  hi = block_max(hi);
  const T lo = -block_max(neg_lo);
  const T range = hi - lo;
  for (int64_t p : block_stride(hw)) dst[p] = range > 0 ? (src[p] - lo) / range : T(0);
}

template <class T>
__global__ void resize_bilinear_kernel(int64_t m, int64_t h, int64_t w, int64_t out_h, int64_t out_w,
                                       const T* __restrict__ x, T* __restrict__ y) {
  for (int64_t e : grid_stride(m * out_h * out_w)) {
    const int64_t ox = e % out_w, oy = (e / out_w) % out_h, plane = e / (out_w * out_h);
    const gradcam_math::Taps ty = gradcam_math::bilinear_taps(oy, h, out_h);
    const gradcam_math::Taps tx = gradcam_math::bilinear_taps(ox, w, out_w);
    const T* r0 = x + plane * h * w + ty.i0 * w;
    const T* r1 = x + plane * h * w + ty.i1 * w;
    const double top = (1 - tx.l1) * static_cast<double>(r0[tx.i0]) + tx.l1 * static_cast<double>(r0[tx.i1]);
    const double bottom = (1 - tx.l1) * static_cast<double>(r1[tx.i0]) + tx.l1 * static_cast<double>(r1[tx.i1]);
    y[e] = static_cast<T>((1 - ty.l1) * top + ty.l1 * bottom);
  }
}

__global__ void colormap_kernel(Colormap cmap, int64_t count, const float* __restrict__ values, uint8_t* __restrict__ rgb) {
  for (int64_t i : grid_stride(count)) {
    const gradcam_math::Rgb c = gradcam_math::colour(cmap, values[i]);
    rgb[3 * i] = gradcam_math::to_byte(255.f * c.r);
    rgb[3 * i + 1] = gradcam_math::to_byte(255.f * c.g);
    rgb[3 * i + 2] = gradcam_math::to_byte(255.f * c.b);
  }
}

__global__ void overlay_kernel(Colormap cmap, int64_t total, const float* __restrict__ maps,
                               const uint8_t* __restrict__ images, float alpha, uint8_t* __restrict__ out) {
  for (int64_t i : grid_stride(total)) {
    const gradcam_math::Rgb c = gradcam_math::colour(cmap, maps[i]);
    out[3 * i] = gradcam_math::blend(images[3 * i], c.r, alpha);
    out[3 * i + 1] = gradcam_math::blend(images[3 * i + 1], c.g, alpha);
    out[3 * i + 2] = gradcam_math::blend(images[3 * i + 2], c.b, alpha);
  }
}
}  // namespace

template <class T>
void cam_weights(Backend, CamMethod method, int64_t n, int64_t c, int64_t hw, const T* act, const T* grad, T* weights) {
  if (n * c == 0) return;
  HEMO_LAUNCH(cam_weights_kernel<T>, static_cast<unsigned>(n * c), kRowThreads, 0, method, hw, act, grad,
                                                                                           weights);
}

template <class T>
void cam_weighted_sum_relu(Backend, int64_t n, int64_t c, int64_t hw, const T* act, const T* weights, T* cam) {
  if (n * hw == 0) return;
  HEMO_LAUNCH(weighted_sum_relu_kernel<T>, grid_for(n * hw, kThreads), kThreads, 0, n, c, hw, act, weights,
                                                                                             cam);
}

template <class T>
void cam_normalize(Backend, int64_t n, int64_t hw, const T* x, T* y) {
  if (n * hw == 0) return;
  HEMO_LAUNCH(normalize_kernel<T>, static_cast<unsigned>(n), kReduceThreads, 0, hw, x, y);
}

template <class T>
void resize_bilinear(Backend, const ResizeShape& s, const T* x, T* y) {
  const int64_t m = s.m, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
  const int64_t total = m * out_h * out_w;
  if (total == 0) return;
  HEMO_LAUNCH(resize_bilinear_kernel<T>, grid_for(total, kThreads), kThreads, 0, m, h, w, out_h, out_w, x, y);
}

void colormap(Backend, Colormap cmap, int64_t count, const float* values, uint8_t* rgb) {
  if (count == 0) return;
  HEMO_LAUNCH(colormap_kernel, grid_for(count, kThreads), kThreads, 0, cmap, count, values, rgb);
}

void cam_overlay(Backend, Colormap cmap, int64_t n, int64_t pixels, const float* maps, const uint8_t* images, float alpha,
                 uint8_t* out) {
  const int64_t total = n * pixels;
  if (total == 0) return;
  HEMO_LAUNCH(overlay_kernel, grid_for(total, kThreads), kThreads, 0, cmap, total, maps, images, alpha, out);
}

template void cam_weights<float>(Backend, CamMethod, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void cam_weighted_sum_relu<float>(Backend, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void cam_normalize<float>(Backend, int64_t, int64_t, const float*, float*);
template void resize_bilinear<float>(Backend, const ResizeShape&, const float*, float*);

}  // namespace hemo::cuda
