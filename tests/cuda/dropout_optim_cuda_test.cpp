// CUDA dropout's generator state and mask kernel (the masks through nn::dropout are op cases,
// opcases/dropout.cpp), optimizer updates and the autograd engine's gradient accumulation, against
// the CPU reference.
#include <doctest/doctest.h>

#include "kernels/dropout.h"
#include "nn/ops_activation.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_dropout.h"
#include "nn/ops_optim.h"
#include "tensor/autograd.h"
#include "tests/cuda/cuda_test.h"

using namespace hemo;
using namespace hemo::test;

// The masks themselves (bit for bit, forward and backward) are the dropout op cases
// (opcases/dropout.cpp) in tests/cuda/opcases_cuda_test.cpp; here the generator's state after.
TEST_CASE("cuda dropout advances the generator exactly as the CPU does") {
  HEMO_REQUIRE_GPU();
  const Shape shapes[] = {{1}, {3}, {3, 5, 7, 13}, {4, 1000003}};  // sizes not multiples of 4 too
  uint64_t seed = 7000;
  for (const Shape& s : shapes) {
    for (double p : {0.1, 0.5, 0.9, 1.0}) {
      CAPTURE(shape_str(s));
      CAPTURE(p);
      Generator gc(seed, 3), gg(seed, 3);
      gc.reserve(5);  // a non-zero first counter
      gg.reserve(5);
      Tensor x = rand_f32(s, ++seed);
      nn::dropout(x, p, true, gc);
      nn::dropout(on_gpu(x), p, true, gg);
      CHECK(gc.state().offset == gg.state().offset);
    }
  }
}

TEST_CASE("cuda dropout_mask: byte-identical to cpu::dropout_mask for any first counter, given or based in memory") {
  HEMO_REQUIRE_GPU();
#if HEMO_WITH_CUDA
  for (int64_t n : {1, 2, 5, 4097, 1000003}) {
    for (uint64_t first : {uint64_t{0}, uint64_t{123456789}, ~uint64_t{0} - 3}) {
      CAPTURE(n);
      CAPTURE(first);
      std::vector<uint8_t> cpu_mask(static_cast<size_t>(n)), gpu_mask(static_cast<size_t>(n), 0xAB);
      cpu::dropout_mask(cpu::backend, n, 0.3, 99, 7, first, cpu_mask.data());
      Storage dev(static_cast<size_t>(n), gpu());  // poisoned by the allocator
      cuda::dropout_mask(cuda::backend, n, 0.3, 99, 7, first, static_cast<uint8_t*>(dev.data()));
      copy_bytes(gpu_mask.data(), Device::cpu(), dev.data(), gpu(), static_cast<size_t>(n));
      CHECK(gpu_mask == cpu_mask);
      // The same mask from a base counter read in memory when the kernel runs (a replayed CUDA
      // graph's, kernels/dropout.h): first = base + relative, on either device.
      const uint64_t base = first / 3 + 11, relative = first - base;
      std::vector<uint8_t> cpu_based(static_cast<size_t>(n)), gpu_based(static_cast<size_t>(n), 0xAB);
      cpu::dropout_mask(cpu::backend, n, 0.3, 99, 7, relative, cpu_based.data(), &base);
      Storage dev_base(sizeof base, gpu());
      copy_bytes(dev_base.data(), gpu(), &base, Device::cpu(), sizeof base);
      cuda::dropout_mask(cuda::backend, n, 0.3, 99, 7, relative, static_cast<uint8_t*>(dev.data()),
                         static_cast<const uint64_t*>(dev_base.data()));
      copy_bytes(gpu_based.data(), Device::cpu(), dev.data(), gpu(), static_cast<size_t>(n));
      CHECK(cpu_based == cpu_mask);
      CHECK(gpu_based == cpu_mask);
    }
  }
#endif
}

TEST_CASE("cuda SGD and Adam/AdamW updates match the CPU reference over several steps") {
  HEMO_REQUIRE_GPU();
  const Shape shapes[] = {{1}, {7, 13}, {3, 1000003}};
  uint64_t seed = 8000;
  for (const Shape& s : shapes) {
    CAPTURE(shape_str(s));
    struct Sgd {
      double momentum, dampening, wd;
      bool nesterov;
    };
    for (const Sgd& o : {Sgd{0, 0, 0, false}, Sgd{0.9, 0, 1e-4, false}, Sgd{0.9, 0, 5e-4, true}, Sgd{0.8, 0.1, 0, false}}) {
      CAPTURE(o.momentum);
      CAPTURE(o.nesterov);
      Tensor pc = rand_f32(s, ++seed), bc = Tensor::zeros(s);
      Tensor pg = on_gpu(pc), bg = Tensor::zeros(s, DType::f32, gpu());
      for (int step = 0; step < 3; ++step) {
        Tensor grad = rand_f32(s, ++seed);
        Tensor grad_gpu = on_gpu(grad);
        SgdParams h{0.05, o.momentum, o.dampening, o.wd, o.nesterov, step == 0};
        nn::sgd_update_(h, pc, grad, bc);
        nn::sgd_update_(h, pg, grad_gpu, bg);
      }
      HEMO_CHECK_CLOSE(pg, pc, 1e-6, "sgd param");
      if (o.momentum != 0) HEMO_CHECK_CLOSE(bg, bc, 1e-6, "sgd momentum buffer");
    }
    for (bool decoupled : {false, true}) {
      CAPTURE(decoupled);
      Tensor pc = rand_f32(s, ++seed), mc = Tensor::zeros(s), vc = Tensor::zeros(s);
      Tensor pg = on_gpu(pc), mg = Tensor::zeros(s, DType::f32, gpu()), vg = Tensor::zeros(s, DType::f32, gpu());
      for (int64_t step = 1; step <= 3; ++step) {
        Tensor grad = rand_f32(s, ++seed);
        Tensor grad_gpu = on_gpu(grad);
        AdamParams h{1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, step};
        nn::adam_update_(h, pc, grad, mc, vc);
        nn::adam_update_(h, pg, grad_gpu, mg, vg);
      }
      HEMO_CHECK_CLOSE(pg, pc, 1e-6, "adam param");
      HEMO_CHECK_CLOSE(mg, mc, 1e-6, "adam m");
      HEMO_CHECK_CLOSE(vg, vc, 1e-6, "adam v");
    }
  }
}

TEST_CASE("cuda multi-tensor SGD and Adam: one launch per 24 tensors, the single updates' bits") {
  HEMO_REQUIRE_GPU();
  // 30 tensors (two chunks), one empty, one large; Adam's step differs per tensor.
  std::vector<Shape> shapes;
  for (int j = 0; j < 30; ++j) shapes.push_back(j == 4 ? Shape{0} : j == 9 ? Shape{3, 100003} : Shape{1 + (j * 53) % 300});
  uint64_t seed = 9000;
  auto rand_list = [&](bool gpu_side) {
    std::vector<Tensor> ts;
    uint64_t s = seed;
    for (const Shape& sh : shapes) {
      Tensor t = rand_f32(sh, ++s);
      ts.push_back(gpu_side ? on_gpu(t) : t);
    }
    return ts;
  };
  auto zeros_list = [&](bool gpu_side) {
    std::vector<Tensor> ts;
    for (const Shape& sh : shapes) ts.push_back(gpu_side ? Tensor::zeros(sh, DType::f32, gpu()) : Tensor::zeros(sh));
    return ts;
  };
  for (const char* kind : {"sgd", "adam", "adamw"}) {
    CAPTURE(kind);
    // multi on the GPU, single on the GPU, single on the CPU
    std::vector<Tensor> pm = rand_list(true), ps = rand_list(true), pc = rand_list(false);
    std::vector<Tensor> am = zeros_list(true), as = zeros_list(true), ac = zeros_list(false);
    std::vector<Tensor> bm = zeros_list(true), bs = zeros_list(true), bc = zeros_list(false);
    for (int step = 1; step <= 3; ++step) {
      seed += 100;
      std::vector<Tensor> gc = rand_list(false), gg;
      for (const Tensor& g : gc) gg.push_back(on_gpu(g));
      if (std::string(kind) == "sgd") {
        std::vector<SgdParams> h(shapes.size(), SgdParams{0.05, 0.9, 0.1, 1e-4, false, step == 1});
        nn::sgd_update_multi_(h, pm, gg, am);
        for (size_t j = 0; j < shapes.size(); ++j) {
          nn::sgd_update_(h[j], ps[j], gg[j], as[j]);
          nn::sgd_update_(h[j], pc[j], gc[j], ac[j]);
        }
      } else {
        std::vector<AdamParams> h;
        for (size_t j = 0; j < shapes.size(); ++j)
          h.push_back(AdamParams{1e-3, 0.9, 0.999, 1e-8, 0.01, std::string(kind) == "adamw",
                                 step + static_cast<int64_t>(j % 3)});
        nn::adam_update_multi_(h, pm, gg, am, bm);
        for (size_t j = 0; j < shapes.size(); ++j) {
          nn::adam_update_(h[j], ps[j], gg[j], as[j], bs[j]);
          nn::adam_update_(h[j], pc[j], gc[j], ac[j], bc[j]);
        }
      }
    }
    double worst_vs_single = 0;
    for (size_t j = 0; j < shapes.size(); ++j) {
      CAPTURE(j);
      const std::vector<float> m = pm[j].to(Device::cpu()).to_vector<float>(), s = ps[j].to(Device::cpu()).to_vector<float>();
      for (size_t i = 0; i < m.size(); ++i) worst_vs_single = std::max(worst_vs_single, std::abs(double(m[i]) - s[i]));
      HEMO_CHECK_CLOSE(pm[j], pc[j], 1e-6, "multi-tensor param against the CPU");
      HEMO_CHECK_CLOSE(am[j], ac[j], 1e-6, "multi-tensor buffer against the CPU");
    }
    MESSAGE(std::string(kind), ": worst |multi - single| on the device over 30 tensors: ", worst_vs_single);
    CHECK(worst_vs_single == 0);
  }
}

// A captured CUDA graph's optimizer reads its constants from memory (MultiTensorArgs::consts,
// train/optim.h's stage_captured): the same bits as constants made from the hyper-parameters, on
// the GPU and on the CPU, with Adam's step differing per tensor.
TEST_CASE("cuda multi-tensor SGD and Adam with their constants in memory: the same bits") {
  HEMO_REQUIRE_GPU();
  std::vector<Shape> shapes;
  for (int j = 0; j < 30; ++j) shapes.push_back(j == 4 ? Shape{0} : Shape{1 + (j * 71) % 500});
  auto list = [&](uint64_t seed, bool on_device) {
    std::vector<Tensor> ts;
    for (const Shape& sh : shapes) ts.push_back(on_device ? on_gpu(rand_f32(sh, ++seed)) : rand_f32(sh, ++seed));
    return ts;
  };
  auto bytes_on = [](const auto& consts, Device device) {
    auto s = std::make_shared<Storage>(consts.size() * sizeof(consts[0]), device);
    copy_bytes(s->data(), device, consts.data(), Device::cpu(), s->bytes());
    return s;
  };
  for (const char* kind : {"sgd", "adam", "adamw"}) {
    CAPTURE(kind);
    for (bool on_device : {true, false}) {
      const Device dev = on_device ? gpu() : Device::cpu();
      std::vector<Tensor> p_h = list(100, on_device), p_k = list(100, on_device);
      std::vector<Tensor> a_h = list(200, on_device), a_k = list(200, on_device);
      std::vector<Tensor> b_h = list(300, on_device), b_k = list(300, on_device);
      for (Tensor& t : b_h) t = nn::mul(t, t);  // Adam's v: non-negative
      for (Tensor& t : b_k) t = nn::mul(t, t);
      for (int step = 1; step <= 3; ++step) {
        const std::vector<Tensor> g = list(400 + 50 * static_cast<uint64_t>(step), on_device);
        if (std::string(kind) == "sgd") {
          std::vector<SgdParams> h(shapes.size(), SgdParams{0.05 / step, 0.9, 0.1, 1e-4, step == 2, false});
          std::vector<SgdConsts<float>> k;
          for (const SgdParams& hj : h) k.push_back(sgd_consts<float>(hj));
          nn::sgd_update_multi_(h, p_h, g, a_h);
          nn::sgd_update_multi_(h, p_k, g, a_k, bytes_on(k, dev)->data());
        } else {
          std::vector<AdamParams> h;
          std::vector<AdamConsts<float>> k;
          for (size_t j = 0; j < shapes.size(); ++j) {
            h.push_back(AdamParams{1e-3 * step, 0.9, 0.999, 1e-8, 0.01, std::string(kind) == "adamw",
                                   step + static_cast<int64_t>(j % 4)});
            k.push_back(adam_consts<float>(h.back()));
          }
          nn::adam_update_multi_(h, p_h, g, a_h, b_h);
          nn::adam_update_multi_(h, p_k, g, a_k, b_k, bytes_on(k, dev)->data());
        }
      }
      int differ = 0;
      for (size_t j = 0; j < shapes.size(); ++j)
        differ += p_h[j].to(Device::cpu()).to_vector<float>() != p_k[j].to(Device::cpu()).to_vector<float>();
      MESSAGE(std::string(kind), " on the ", dev.str(), ": ", differ, " of 30 tensors differ");
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("cuda accumulate_: gradients reaching a tensor along two paths are summed on the GPU") {
  HEMO_REQUIRE_GPU();
  for (const Shape& s : {Shape{1}, Shape{3, 5, 7, 13}, Shape{2, 1000003}}) {
    CAPTURE(shape_str(s));
    Tensor a = rand_f32(s, 11), b = rand_f32(s, 12);
    Tensor ag = on_gpu(a), bg = on_gpu(b);
    accumulate_(a, b);
    accumulate_(ag, bg);
    check_equal(ag, a, "accumulate_");
  }
  // Through autograd: the output depends on x directly and through relu(x), so the engine sums
  // two gradients for x (add_pending -> accumulate_) on x's device.
  check_op("cuda autograd accumulation", {rand_f32({3, 5, 7, 13}, 13)},
           [](const std::vector<Tensor>& in) {
             Tensor r = nn::activation(Activation::relu, in[0]);
             Tensor out = r.detach().clone();
             record(out, "use_twice", {in[0], r},
                    [](const Tensor& g) -> std::vector<Tensor> { return {g, g}; });
             return out;
           },
           1e-6, 1e-6, 14);
}
