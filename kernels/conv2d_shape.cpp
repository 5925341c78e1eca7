// Shape rules shared by the dense and depthwise convolutions (kernels/conv2d.h,
// kernels/depthwise_conv2d.h), whatever the device.
#include <atomic>

#include "core/error.h"
#include "kernels/conv2d.h"
#include "kernels/depthwise_conv2d.h"

namespace hemo {

int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;  // >= -1 unless the input is too small
  return span < 0 ? 0 : span / stride + 1;
}

int64_t Conv2dShape::p() const { return conv2d_output_size(h, r, stride_h, pad_h, dil_h); }
int64_t Conv2dShape::q() const { return conv2d_output_size(w, s, stride_w, pad_w, dil_w); }

void Conv2dShape::validate(const char* op) const {
  HEMO_CHECK(n >= 0 && c >= 1 && h >= 1 && w >= 1, op, ": input [", n, ", ", c, ", ", h, ", ", w,
             "] needs channels and a non-empty plane");
  HEMO_CHECK(k >= 1 && r >= 1 && s >= 1, op, ": weight needs output channels and a kernel, got k=", k,
             " kernel ", r, "x", s);
  HEMO_CHECK(groups >= 1 && c % groups == 0 && k % groups == 0, op, ": groups=", groups,
             " must divide the input channels (", c, ") and the output channels (", k, ")");
  HEMO_CHECK(stride_h >= 1 && stride_w >= 1, op, ": stride must be positive, got ", stride_h, "x", stride_w);
  HEMO_CHECK(dil_h >= 1 && dil_w >= 1, op, ": dilation must be positive, got ", dil_h, "x", dil_w);
  HEMO_CHECK(pad_h >= 0 && pad_w >= 0, op, ": padding must be non-negative, got ", pad_h, "x", pad_w);
  HEMO_CHECK(p() >= 1 && q() >= 1, op, ": input plane ", h, "x", w, " (padding ", pad_h, "x", pad_w,
             ") is smaller than the dilated kernel ", dil_h * (r - 1) + 1, "x", dil_w * (s - 1) + 1);
}

void validate_depthwise(const Conv2dShape& s, const char* op) {
  s.validate(op);
  HEMO_CHECK(s.groups == s.c && s.k == s.c, op, ": a depthwise convolution needs groups == in channels == out ",
             "channels, got groups=", s.groups, ", c=", s.c, ", k=", s.k);
  HEMO_CHECK(s.dil_h == 1 && s.dil_w == 1, op, ": the depthwise kernels take no dilation, got ", s.dil_h, "x",
             s.dil_w);
}

namespace {
std::atomic<bool> g_depthwise_specialized{true};
}
void set_depthwise_specialized(bool on) { g_depthwise_specialized = on; }
bool depthwise_specialized() { return g_depthwise_specialized; }

}  // namespace hemo
