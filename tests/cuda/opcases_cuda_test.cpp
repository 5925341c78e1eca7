// Every registered op case (opcases/registry.h) on the CUDA device against the CPU, forward and
// backward from the same random output gradient, on every sample, the cuda-only samples and the
// bench shapes (large enough for the kernels' grid-stride loops and multi-block paths; not for a
// case that skips the bench). Tolerance 0 means bit for bit.
// In a -DHEMO_CUDA=EMULATE build the device is the emulator; without CUDA the test is skipped.
#include <functional>

#include "nn/ops_conv.h"
#include "tests/cuda/cuda_test.h"
#include "tests/support/channels_last.h"
#include "tests/support/channels_last_model.h"
#include "tests/support/opcases.h"

using namespace hemo;
using namespace hemo::opcases;

namespace {
void compare(test::Worst& worst, const Tensor& on_gpu, const Tensor& on_cpu, double tol, const std::string& what) {
  if (tol == 0)
    test::check_equal(on_gpu, on_cpu, what);
  else
    worst.close(on_gpu, on_cpu, tol, what);
}

void check_sample(const OpCase& c, const Shapes& shapes, const std::string& label, test::Worst& worst) {
  std::vector<Tensor> cpu = make_inputs(c, shapes, DType::f32, Device::cpu(), true), gpu;
  for (size_t k = 0; k < cpu.size(); ++k) {
    gpu.push_back(test::on_gpu(cpu[k]));
    if (c.inputs[k].grad) gpu.back().requires_grad_(true);
  }
  Tensor yc = c.forward(cpu), yg = c.forward(gpu);
  REQUIRE_MESSAGE(yg.is_cuda(), label, ": the output is not on the device");
  compare(worst, yg, yc, c.tol.cuda_fwd, label + " forward");
  if (!yc.requires_grad()) return;
  Tensor gy = test::grad_out_like(yc, std::hash<std::string>{}(label));
  yc.backward(gy);
  yg.backward(test::on_gpu(gy));
  for (size_t k = 0; k < cpu.size(); ++k) {
    if (!c.inputs[k].grad) continue;
    const std::string what = cat(label, " gradient of ", c.inputs[k].name);
    REQUIRE_MESSAGE(gpu[k].grad().defined(), what, ": none reached the input");
    CHECK_MESSAGE(gpu[k].grad().is_cuda(), what, ": not on the device");
    compare(worst, gpu[k].grad(), cpu[k].grad(), c.tol.cuda_bwd, what);
  }
}
}  // namespace

TEST_CASE("cuda: every op case matches the CPU reference, forward and backward, samples and bench shapes") {
  HEMO_REQUIRE_GPU();
  test::for_each_case(Check::cuda, [](const OpCase& c) {
    test::Worst worst{Check::cuda, c.name};
    std::vector<Shapes> all = c.samples;
    all.insert(all.end(), c.cuda_samples.begin(), c.cuda_samples.end());
    const size_t n = all.size() + (c.runs(Check::bench) ? 1 : 0);
    for (size_t i = 0; i < n; ++i) {
      const bool bench = i == all.size();
      const Shapes& s = bench ? c.bench : all[i];
      check_sample(c, s, test::sample_label(c, bench ? SIZE_MAX : i, s), worst);
      ++worst.samples;
    }
    worst.print();
  });
}

// Channels-last on the device (tests/support/channels_last.h): every case with a 4-d input, its
// inputs stored channels-last, against the same case on contiguous inputs, both on the device. The
// device's convolutions and average pools take NCHW only and convert around themselves; batch norm
// runs its [N H W, C] form, the elementwise kernels any order, and the conversions are the CUDA
// transpose (kernels/cuda/layout.cu). Tolerance: twice the case's float32 parity allowance.
TEST_CASE("cuda: every op case in channels-last matches the contiguous run on the device") {
  HEMO_REQUIRE_GPU();
  test::for_each_case(Check::cuda, [](const OpCase& c) {
    test::Worst worst{Check::cuda, c.name + " channels_last"};
    for (size_t i = 0; i < c.samples.size(); ++i) {
      if (!test::has_4d_input(c.samples[i])) continue;
      test::check_channels_last_sample(c, c.samples[i], test::sample_label(c, i, c.samples[i]), test::gpu(),
                                       DType::f32, 2 * c.tol.parity, worst);
      ++worst.samples;
    }
    if (worst.samples > 0) worst.print();
  });
}

// Depthwise convolution and max pooling have channels-last CUDA kernels, batch norm runs on the
// [N H W, C] form and cuDNN takes NHWC: no memory-format copy inside either model on the device.
TEST_CASE("cuda: ResNet-18 and MobileNetV2 train in channels-last with no copy inside the model") {
  HEMO_REQUIRE_GPU();
  test::check_model_channels_last("resnet18", 32, test::gpu(), false);
  test::check_model_channels_last("mobilenet_v2", 32, test::gpu(), false);
}

// The channels-last weight and bias gradients are column sums (kernels/cuda/column_sums.cuh) over
// rows cut into spans of 1024; the op cases' channels-last samples fit in one span, so here
// N H W = 2 x 41 x 43 = 3526 rows (four spans, the last one short), against the CPU's
// channels-last kernels.
TEST_CASE("cuda: channels-last depthwise and dense convolution gradients over several row spans") {
  HEMO_REQUIRE_GPU();
  const auto last = [](const Tensor& t) { return t.to(MemoryFormat::channels_last); };
  test::check_op("depthwise 3x3, channels-last",
                 {test::rand_f32({2, 40, 41, 43}, 71), test::rand_f32({40, 1, 3, 3}, 72), test::rand_f32({40}, 73)},
                 [&](const std::vector<Tensor>& v) { return nn::conv2d(last(v[0]), v[1], v[2], {1, 1}, {1, 1}, {1, 1}, 40); },
                 2e-6, 2e-5, 74);
  test::check_op("dense 1x1, channels-last",
                 {test::rand_f32({2, 8, 41, 43}, 75), test::rand_f32({36, 8, 1, 1}, 76), test::rand_f32({36}, 77)},
                 [&](const std::vector<Tensor>& v) { return nn::conv2d(last(v[0]), v[1], v[2]); }, 2e-5, 2e-5, 78);
}
