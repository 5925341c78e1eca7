// Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018) as batched kernels:
// the reductions that turn a target layer's activations and gradients into class-activation maps,
// the resize to the input size, and the colouring of a map over an image.
//
// Notation, per image n of a batch of N: A is the target layer's output [C, h, w] (hw = h * w
// positions p), S the chosen class's score (its logit), g = dS/dA [C, h, w].
//
//   cam_weights (one weight per channel k; sums in double, in index order):
//     gradcam    w_k = (1 / hw) sum_p g_kp                                   (gradient's spatial mean)
//     gradcampp  w_k = sum_p alpha_kp relu(g_kp),
//                alpha_kp = g_kp^2 / (2 g_kp^2 + (sum_q A_kq) g_kp^3)
//                This is the paper's closed form (its eq. 19) for the exponential score Y = exp(S):
//                dY/dA = Y g, d2Y/dA2 = Y g^2, d3Y/dA3 = Y g^3 (S's own second derivatives, zero
//                for a piecewise-linear network, are dropped), so the factor Y cancels in alpha and
//                leaves w_k = Y * sum_p alpha relu(g). Y > 0 scales every w_k of the image alike, and
//                the map is min-max normalized below, so Y is left out (as the usual PyTorch
//                implementations do). A term is 0 where g_kp <= 0 (relu(g) = 0) or where the
//                denominator is exactly 0.
//   cam_weighted_sum_relu:  cam_p = max(0, sum_k w_k A_kp)                   (sum in double)
//   cam_normalize (per image):  y_p = (x_p - min x) / (max x - min x), or 0 everywhere when
//                max x == min x (a flat map carries no location).
//   resize_bilinear: [M, h, w] planes to [M, out_h, out_w], PyTorch's
//                F.interpolate(mode="bilinear", align_corners=False) with an output size: per axis,
//                scale = in / out, source coordinate s = max(0, (dst + 0.5) * scale - 0.5),
//                i0 = floor(s), i1 = min(i0 + 1, in - 1), l1 = s - i0, l0 = 1 - l1;
//                y = l0_y (l0_x x[i0_y, i0_x] + l1_x x[i0_y, i1_x]) + l1_y (l0_x x[i1_y, i0_x] + l1_x x[i1_y, i1_x])
//                (coordinates and sums in double). Shrinking is plain bilinear sampling too, as torch.
//   colormap:    v (clamped to [0, 1]) -> RGB8 of the named map (kernels/gradcam_math.h: jet is
//                matplotlib's piecewise-linear jet; turbo interpolates 33 samples of Turbo's table).
//   cam_overlay: out = round((1 - alpha) image + alpha * 255 colour(map)) per channel, images
//                [N, H, W, 3] interleaved RGB8 (data::Image's layout), maps [N, H, W] in [0, 1].
//
// Layouts: A and g are contiguous [N, C, hw]; weights [N, C]; maps [N, hw]. Every output is
// OVERWRITTEN. N, C, h, w, out_h, out_w >= 1 (the nn/ level checks shapes); alpha in [0, 1].
#pragma once
#include <cstdint>

#include "kernels/backend.h"

namespace hemo {

enum class CamMethod : uint8_t { gradcam, gradcampp };
enum class Colormap : uint8_t { jet, turbo };
const char* cam_method_name(CamMethod m);  // "gradcam", "gradcampp"
const char* colormap_name(Colormap c);     // "jet", "turbo"

// resize_bilinear's planes: m planes of h x w resized to out_h x out_w.
struct ResizeShape {
  int64_t m = 0, h = 0, w = 0, out_h = 0, out_w = 0;
};

namespace cpu {
template <class T>
void cam_weights(Backend, CamMethod method, int64_t n, int64_t c, int64_t hw, const T* act, const T* grad, T* weights);
template <class T>
void cam_weighted_sum_relu(Backend, int64_t n, int64_t c, int64_t hw, const T* act, const T* weights, T* cam);
template <class T>
void cam_normalize(Backend, int64_t n, int64_t hw, const T* x, T* y);
template <class T>
void resize_bilinear(Backend, const ResizeShape& s, const T* x, T* y);
void colormap(Backend, Colormap cmap, int64_t count, const float* values, uint8_t* rgb);
void cam_overlay(Backend, Colormap cmap, int64_t n, int64_t pixels, const float* maps, const uint8_t* images, float alpha,
                 uint8_t* out);
}  // namespace cpu

// CUDA (kernels/cuda/gradcam.cu): device pointers, float only, queued on the current stream.
namespace cuda {
template <class T>
void cam_weights(Backend, CamMethod method, int64_t n, int64_t c, int64_t hw, const T* act, const T* grad, T* weights);
template <class T>
void cam_weighted_sum_relu(Backend, int64_t n, int64_t c, int64_t hw, const T* act, const T* weights, T* cam);
template <class T>
void cam_normalize(Backend, int64_t n, int64_t hw, const T* x, T* y);
template <class T>
void resize_bilinear(Backend, const ResizeShape& s, const T* x, T* y);
void colormap(Backend, Colormap cmap, int64_t count, const float* values, uint8_t* rgb);
void cam_overlay(Backend, Colormap cmap, int64_t n, int64_t pixels, const float* maps, const uint8_t* images, float alpha,
                 uint8_t* out);
}  // namespace cuda

}  // namespace hemo
