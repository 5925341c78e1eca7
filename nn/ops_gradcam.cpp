#include "nn/ops_gradcam.h"

#include "core/storage.h"
#include "nn/dispatch.h"

namespace hemo::nn {

namespace {
void check_nchw(const char* op, const char* what, const Tensor& t) {
  HEMO_CHECK(t.defined() && t.dim() == 4, op, ": ", what, " must be [N, C, h, w], got ",
             t.defined() ? t.str() : std::string("an undefined tensor"));
  HEMO_CHECK(t.numel() > 0, op, ": ", what, " is empty: ", t.str());
}
}  // namespace

// The Grad-CAM kernels read NCHW planes: channels-last tensors are read through contiguous copies.
Tensor cam_weights(CamMethod method, const Tensor& act, const Tensor& grad) {
  if (act.is_channels_last() || (grad.defined() && grad.is_channels_last()))
    return cam_weights(method, act.contiguous(), grad.defined() ? grad.contiguous() : grad);
  const char* op = method == CamMethod::gradcam ? "cam_weights(gradcam)" : "cam_weights(gradcampp)";
  check_nchw(op, "the activations", act);
  HEMO_CHECK(grad.defined() && grad.shape() == act.shape(), op, ": the gradient ",
             grad.defined() ? grad.str() : std::string("(undefined)"), " must match the activations ", act.str());
  check_same_place(op, {act, grad});
  const int64_t n = act.size(0), c = act.size(1), hw = act.size(2) * act.size(3);
  Tensor w = Tensor::empty({n, c}, act.dtype(), act.device());
  dispatch(op, act, [&](auto backend, auto t) {
    using T = decltype(t);
    cam_weights(backend, method, n, c, hw, act.data<T>(), grad.data<T>(), w.data<T>());
  });
  return w;
}

Tensor cam_weighted_sum_relu(const Tensor& act, const Tensor& weights) {
  if (act.defined() && act.is_channels_last()) return cam_weighted_sum_relu(act.contiguous(), weights);
  const char* op = "cam_weighted_sum_relu";
  check_nchw(op, "the activations", act);
  HEMO_CHECK(weights.defined() && weights.shape() == Shape({act.size(0), act.size(1)}), op, ": the weights ",
             weights.defined() ? weights.str() : std::string("(undefined)"), " must be [N, C] for the activations ",
             act.str());
  check_same_place(op, {act, weights});
  const int64_t n = act.size(0), c = act.size(1), hw = act.size(2) * act.size(3);
  Tensor cam = Tensor::empty({n, act.size(2), act.size(3)}, act.dtype(), act.device());
  dispatch(op, act, [&](auto backend, auto t) {
    using T = decltype(t);
    cam_weighted_sum_relu(backend, n, c, hw, act.data<T>(), weights.data<T>(), cam.data<T>());
  });
  return cam;
}

Tensor cam_normalize(const Tensor& x) {
  if (x.defined() && x.is_channels_last()) return cam_normalize(x.contiguous());
  HEMO_CHECK(x.defined() && x.dim() >= 1 && x.numel() > 0, "cam_normalize: need a non-empty [N, ...] tensor, got ",
             x.defined() ? x.str() : std::string("an undefined tensor"));
  const int64_t n = x.size(0), per_image = x.numel() / n;
  Tensor y = Tensor::empty_like(x);
  dispatch("cam_normalize", x, [&](auto backend, auto t) {
    using T = decltype(t);
    cam_normalize(backend, n, per_image, x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w) {
  if (x.defined() && x.is_channels_last()) return resize_bilinear(x.contiguous(), out_h, out_w);
  HEMO_CHECK(x.defined() && x.dim() >= 2 && x.numel() > 0, "resize_bilinear: need a non-empty [..., h, w] tensor, got ",
             x.defined() ? x.str() : std::string("an undefined tensor"));
  HEMO_CHECK(out_h >= 1 && out_w >= 1, "resize_bilinear: the output size must be positive, got ", out_h, "x", out_w);
  const int64_t h = x.size(-2), w = x.size(-1), planes = x.numel() / (h * w);
  Shape out = x.shape();
  out[out.size() - 2] = out_h;
  out[out.size() - 1] = out_w;
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  dispatch("resize_bilinear", x, [&](auto backend, auto t) {
    using T = decltype(t);
    resize_bilinear(backend, {.m = planes, .h = h, .w = w, .out_h = out_h, .out_w = out_w}, x.data<T>(), y.data<T>());
  });
  return y;
}

std::vector<uint8_t> cam_overlay(Colormap cmap, const Tensor& maps, std::span<const uint8_t> images, float alpha) {
  const char* op = "cam_overlay";
  HEMO_CHECK(maps.defined() && maps.dim() == 3 && maps.dtype() == DType::f32 && maps.numel() > 0, op,
             ": the maps must be non-empty float32 [N, H, W], got ", maps.defined() ? maps.str() : std::string("(undefined)"));
  HEMO_CHECK(static_cast<int64_t>(images.size()) == 3 * maps.numel(), op, ": ", images.size(),
             " image bytes for maps ", maps.str(), " (need N * H * W * 3 = ", 3 * maps.numel(), ")");
  HEMO_CHECK(alpha >= 0 && alpha <= 1, op, ": alpha must be in [0, 1], got ", alpha);
  const int64_t n = maps.size(0), pixels = maps.size(1) * maps.size(2);
  std::vector<uint8_t> out(images.size());
  // The images and the result live on the host; the kernel works on copies beside the maps.
  Storage src(images.size(), maps.device()), dst(out.size(), maps.device());
  copy_bytes(src.data(), maps.device(), images.data(), Device::cpu(), images.size());
  dispatch(op, maps, [&](auto backend, auto) {
    cam_overlay(backend, cmap, n, pixels, maps.data<float>(), static_cast<const uint8_t*>(src.data()), alpha,
                static_cast<uint8_t*>(dst.data()));
  });
  copy_bytes(out.data(), Device::cpu(), dst.data(), maps.device(), out.size());
  return out;
}

std::vector<uint8_t> colormap(Colormap cmap, const Tensor& values) {
  HEMO_CHECK(values.defined() && values.dtype() == DType::f32 && values.numel() > 0,
             "colormap: the values must be non-empty float32, got ",
             values.defined() ? values.str() : std::string("(undefined)"));
  std::vector<uint8_t> out(static_cast<size_t>(3 * values.numel()));
  Storage dst(out.size(), values.device());  // the result lives on the host
  dispatch("colormap", values, [&](auto backend, auto) {
    colormap(backend, cmap, values.numel(), values.data<float>(), static_cast<uint8_t*>(dst.data()));
  });
  copy_bytes(out.data(), Device::cpu(), dst.data(), values.device(), out.size());
  return out;
}

}  // namespace hemo::nn
