// The Grad-CAM reference kernels (the contract is kernels/gradcam.h): plain loops, sums in double
// in index order, so the result does not depend on the thread count.
#include "kernels/gradcam.h"

#include <algorithm>

#include "kernels/gradcam_math.h"

namespace hemo {

const char* cam_method_name(CamMethod m) { return m == CamMethod::gradcam ? "gradcam" : "gradcampp"; }
const char* colormap_name(Colormap c) { return c == Colormap::jet ? "jet" : "turbo"; }

namespace cpu {

namespace {
constexpr int64_t kParallelWork = 1 << 15;
}

template <class T>
void cam_weights(Backend, CamMethod method, int64_t n, int64_t c, int64_t hw, const T* act, const T* grad, T* weights) {
  const int64_t planes = n * c;
#pragma omp parallel for if (planes * hw > kParallelWork) schedule(static)
  for (int64_t k = 0; k < planes; ++k) {
    const T* a = act + k * hw;
    const T* g = grad + k * hw;
    double w = 0;
    if (method == CamMethod::gradcam) {
      for (int64_t p = 0; p < hw; ++p) w += static_cast<double>(g[p]);
      w /= static_cast<double>(hw);
    } else {
      double sum_a = 0;
      for (int64_t p = 0; p < hw; ++p) sum_a += static_cast<double>(a[p]);
      for (int64_t p = 0; p < hw; ++p) w += gradcam_math::gradcampp_term(static_cast<double>(g[p]), sum_a);
    }
    weights[k] = static_cast<T>(w);
  }
}

template <class T>
void cam_weighted_sum_relu(Backend, int64_t n, int64_t c, int64_t hw, const T* act, const T* weights, T* cam) {
#pragma omp parallel for if (n * c * hw > kParallelWork) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < hw; ++p) {
      double s = 0;
      for (int64_t k = 0; k < c; ++k)
        s += static_cast<double>(weights[i * c + k]) * static_cast<double>(act[(i * c + k) * hw + p]);
      cam[i * hw + p] = static_cast<T>(s > 0 ? s : 0);
    }
  }
}

template <class T>
void cam_normalize(Backend, int64_t n, int64_t hw, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) {
    const T* src = x + i * hw;
    T* dst = y + i * hw;
    const auto [lo, hi] = std::minmax_element(src, src + hw);
    const T mn = *lo, range = *hi - *lo;
    for (int64_t p = 0; p < hw; ++p) dst[p] = range > 0 ? (src[p] - mn) / range : T(0);
  }
}

template <class T>
void resize_bilinear(Backend, const ResizeShape& s, const T* x, T* y) {
  const int64_t m = s.m, h = s.h, w = s.w, out_h = s.out_h, out_w = s.out_w;
#pragma omp parallel for if (m * out_h * out_w > kParallelWork) schedule(static)
  for (int64_t plane = 0; plane < m; ++plane) {
    const T* src = x + plane * h * w;
    T* dst = y + plane * out_h * out_w;
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const gradcam_math::Taps ty = gradcam_math::bilinear_taps(oy, h, out_h);
      const T* r0 = src + ty.i0 * w;
      const T* r1 = src + ty.i1 * w;
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const gradcam_math::Taps tx = gradcam_math::bilinear_taps(ox, w, out_w);
        const double top = (1 - tx.l1) * static_cast<double>(r0[tx.i0]) + tx.l1 * static_cast<double>(r0[tx.i1]);
        const double bottom = (1 - tx.l1) * static_cast<double>(r1[tx.i0]) + tx.l1 * static_cast<double>(r1[tx.i1]);
        dst[oy * out_w + ox] = static_cast<T>((1 - ty.l1) * top + ty.l1 * bottom);
      }
    }
  }
}

void colormap(Backend, Colormap cmap, int64_t count, const float* values, uint8_t* rgb) {
  for (int64_t i = 0; i < count; ++i) {
    const gradcam_math::Rgb c = gradcam_math::colour(cmap, values[i]);
    rgb[3 * i] = gradcam_math::to_byte(255.f * c.r);
    rgb[3 * i + 1] = gradcam_math::to_byte(255.f * c.g);
    rgb[3 * i + 2] = gradcam_math::to_byte(255.f * c.b);
  }
}

void cam_overlay(Backend, Colormap cmap, int64_t n, int64_t pixels, const float* maps, const uint8_t* images, float alpha,
                 uint8_t* out) {
  const int64_t total = n * pixels;
#pragma omp parallel for if (total > kParallelWork) schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    const gradcam_math::Rgb c = gradcam_math::colour(cmap, maps[i]);
    out[3 * i] = gradcam_math::blend(images[3 * i], c.r, alpha);
    out[3 * i + 1] = gradcam_math::blend(images[3 * i + 1], c.g, alpha);
    out[3 * i + 2] = gradcam_math::blend(images[3 * i + 2], c.b, alpha);
  }
}

#define HEMO_INSTANTIATE(T)                                                                                        \
  template void cam_weights<T>(Backend, CamMethod, int64_t, int64_t, int64_t, const T*, const T*, T*);                    \
  template void cam_weighted_sum_relu<T>(Backend, int64_t, int64_t, int64_t, const T*, const T*, T*);                     \
  template void cam_normalize<T>(Backend, int64_t, int64_t, const T*, T*);                                                \
  template void resize_bilinear<T>(Backend, const ResizeShape&, const T*, T*);
HEMO_INSTANTIATE(float)
HEMO_INSTANTIATE(double)
#undef HEMO_INSTANTIATE

}  // namespace cpu
}  // namespace hemo
