// The channels-last check of an op case (tests/unit/channels_last_test.cpp on the CPU,
// tests/cuda/opcases_cuda_test.cpp on the device): the case's op run with every 4-d input stored
// channels-last (tensor/tensor.h) must give the values and input gradients of the same op on the
// contiguous inputs, and, where the output is 4-d and the first input was converted, a
// channels-last output (an op without a channels-last kernel converts around itself, so the layers
// after it keep the format). The Grad-CAM steps and the reductions hand back contiguous tensors.
#pragma once
#include <functional>
#include <string>

#include "tensor/autograd.h"
#include "tests/support/opcases.h"

namespace hemo::test {

inline bool has_4d_input(const opcases::Shapes& shapes) {
  for (const Shape& s : shapes)
    if (s.size() == 4) return true;
  return false;
}

inline bool keeps_channels_last(const opcases::OpCase& c) {
  return c.name.rfind("gradcam.", 0) != 0 && c.name.rfind("reduce.", 0) != 0;
}

// Runs one sample both ways on `device` in `dtype`; `tol` is compare.h's magnitude-scaled allowance.
inline void check_channels_last_sample(const opcases::OpCase& c, const opcases::Shapes& shapes,
                                       const std::string& label, Device device, DType dtype, double tol, Worst& worst) {
  std::vector<Tensor> plain = opcases::make_inputs(c, shapes, dtype, Device::cpu(), false), last;
  for (size_t k = 0; k < plain.size(); ++k) {
    plain[k] = plain[k].to(device);
    Tensor t = plain[k].dim() == 4 ? plain[k].to(MemoryFormat::channels_last) : plain[k].clone();
    REQUIRE((t.dim() != 4 || t.is_channels_last()));
    if (c.inputs[k].grad) {
      plain[k].requires_grad_(true);
      t.requires_grad_(true);
    }
    last.push_back(t);
  }
  Tensor y = c.forward(plain), yl = c.forward(last);
  worst.close(yl, y, tol, label + " channels-last forward");
  if (keeps_channels_last(c) && yl.dim() == 4 && shapes[0].size() == 4)
    CHECK_MESSAGE(yl.is_channels_last(), label, ": a channels-last input gave a contiguous output ", yl.str());
  if (!y.requires_grad()) return;
  Tensor gy = grad_out_like(y, std::hash<std::string>{}(label));
  y.backward(gy);
  yl.backward(gy);
  for (size_t k = 0; k < plain.size(); ++k) {
    if (!c.inputs[k].grad) continue;
    const std::string what = cat(label, " channels-last gradient of ", c.inputs[k].name);
    REQUIRE_MESSAGE(last[k].grad().defined(), what, ": none reached the input");
    CHECK_MESSAGE(last[k].grad().memory_format() == last[k].memory_format(), what, ": stored ",
                  last[k].grad().str(), " for an input ", last[k].str());
    worst.close(last[k].grad(), plain[k].grad(), tol, what);
  }
}

}  // namespace hemo::test
