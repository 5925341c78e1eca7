// cuda::Graph (core/cuda/graph.h): a chain of hemo ops (a convolution on cuDNN, pooling and
// activation kernels, a linear layer on cuBLAS, a softmax) captured once and replayed on new
// inputs written into the same device buffer gives, bit for bit, what eager execution gives, and
// so does a captured training step (forward, backward, SGD with momentum) replayed three times;
// nothing runs at capture time; a replay makes no host synchronization; a host synchronization,
// a host read of a device value or an allocation that reaches cudaMalloc inside the capture is
// refused with an Error that says so, and the stream works as before afterwards.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/storage.h"
#include "nn/ops_activation.h"
#include "nn/ops_conv.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_linear.h"
#include "nn/ops_optim.h"
#include "nn/ops_pool.h"
#include "nn/ops_reduce.h"
#include "nn/ops_softmax.h"
#include "tensor/autograd.h"
#include "tests/cuda/cuda_test.h"
#if HEMO_WITH_CUDA
#include "core/cuda/graph.h"
#include "core/cuda/stream.h"
#if defined(HEMO_CUDA_EMULATED)
#include <cuda_runtime.h>  // hemo::emu::host_syncs
#endif
#endif

using namespace hemo;
using namespace hemo::test;

#if HEMO_WITH_CUDA

namespace {

// Host synchronizations so far (the emulator counts them; a real GPU build does not check).
uint64_t host_syncs() {
#if defined(HEMO_CUDA_EMULATED)
  return emu::host_syncs();
#else
  return 0;
#endif
}

// Writes a CPU tensor's values into an existing device tensor (outside any capture).
void upload(const Tensor& cpu, const Tensor& device) {
  REQUIRE(cpu.shape() == device.shape());
  copy_bytes(device.raw(), device.device(), cpu.raw(), cpu.device(), cpu.nbytes());
}

// The ops under test: conv (cuDNN) + bias, ReLU, max pool, linear (cuBLAS), softmax.
struct Net {
  Tensor w = on_gpu(random_tensor({6, 3, 3, 3}, 11, DType::f32, 0.1, 0.5));
  Tensor b = on_gpu(random_tensor({6}, 12, DType::f32, 0.1, 0.5));
  Tensor lw = on_gpu(random_tensor({5, 6 * 4 * 4}, 13, DType::f32, 0.05, 0.2));
  Tensor lb = on_gpu(random_tensor({5}, 14, DType::f32, 0.1, 0.5));
  Tensor operator()(const Tensor& x) const {
    Tensor h = nn::relu(nn::conv2d(x, w, b, {1, 1}, {1, 1}));
    h = nn::max_pool2d(h, {2, 2}, {2, 2});
    return nn::softmax(nn::linear(h.flatten(1), lw, lb), 1);
  }
};

const Shape kInput{2, 3, 8, 8};

}  // namespace

TEST_CASE("cuda::Graph replays a captured chain of ops bit for bit like eager execution") {
  HEMO_REQUIRE_GPU();
  MathGuard math(false, false);
  NoGradGuard no_grad;
  const Net net;
  const Tensor in1 = rand_f32(kInput, 21), in2 = rand_f32(kInput, 22);

  // Eager, on the legacy stream.
  const Tensor x = Tensor::empty(kInput, DType::f32, gpu());  // the graph's fixed input buffer
  upload(in1, x);
  const Tensor ref1 = net(x).to(Device::cpu());
  upload(in2, x);
  const Tensor ref2 = net(x).to(Device::cpu());

  const Tensor sentinel = Tensor::full(ref1.shape(), -7.0, DType::f32);
  const Tensor out = on_gpu(sentinel);  // the graph's fixed output buffer
  const auto work = [&] {
    const Tensor y = net(x);
    copy_bytes(out.raw(), out.device(), y.raw(), y.device(), y.nbytes());  // device to device: queued
  };
  cuda::Graph graph;
  CHECK(graph.stream() != nullptr);
  CHECK(!graph.captured());
  {
    // Warm-up on the graph's stream: the allocator's bins for that stream then hold every block
    // the capture asks for, so nothing in it reaches cudaMalloc.
    cuda::StreamGuard on(graph.stream());
    work();
    cuda::synchronize_current();
  }
  upload(sentinel, out);
  upload(in1, x);
  const uint64_t syncs_before_capture = host_syncs();
  graph.capture(work);
  CHECK(graph.captured());
  CHECK(host_syncs() == syncs_before_capture);
  check_equal(out.to(Device::cpu()), sentinel, "the output right after the capture (nothing may run)");

  int replays = 0;
  const std::pair<Tensor, Tensor> cases[] = {{in1, ref1}, {in2, ref2}, {in1, ref1}};
  for (const auto& [in, ref] : cases) {
    upload(in, x);
    upload(sentinel, out);
    const uint64_t syncs = host_syncs();
    graph.replay();
    CHECK_MESSAGE(host_syncs() == syncs, "a replay synchronized with the host");
    const Tensor got = out.to(Device::cpu());
    check_equal(got, ref, cat("replay ", ++replays));
    MESSAGE("replay ", replays, ": ", got.numel(), " outputs equal to eager execution, first ",
            got.to_vector<float>()[0]);
  }
  // Eager and replayed results differ between inputs, so the comparison above means something.
  CHECK(ref1.to_vector<float>() != ref2.to_vector<float>());
}

namespace {
// A training step of Net's layers: forward, a loss against a device target, backward, SGD with
// momentum. Nothing in it reads a device value on the host.
struct Trainer {
  Net net;
  std::vector<Tensor> params{net.w, net.b, net.lw, net.lb}, momentum;
  Tensor target = on_gpu(rand_f32({2, 5}, 41));
  Tensor loss_out = Tensor::empty({}, DType::f32, gpu());  // the last step's loss, kept in place
  Trainer() {
    for (Tensor& p : params) p.requires_grad_();
    for (const Tensor& p : params) momentum.push_back(Tensor::zeros(p.shape(), DType::f32, gpu()));
  }
  void step(const Tensor& x) {
    for (Tensor& p : params) p.zero_grad();
    const Tensor loss = nn::mean(nn::mul(net(x), target));
    loss.backward();
    NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i)
      nn::sgd_update_({.lr = 0.5, .momentum = 0.9}, params[i], params[i].grad(), momentum[i]);
    copy_bytes(loss_out.raw(), loss_out.device(), loss.raw(), loss.device(), loss.nbytes());
  }
  // Parameters, momentum and the loss, on the host.
  std::vector<std::vector<float>> state() const {
    std::vector<std::vector<float>> out;
    for (const Tensor& t : params) out.push_back(t.detach().to_vector<float>());
    for (const Tensor& t : momentum) out.push_back(t.to_vector<float>());
    out.push_back(loss_out.to_vector<float>());
    return out;
  }
  void set(const std::vector<std::vector<float>>& s) {
    for (size_t i = 0; i < params.size(); ++i) upload(Tensor::from_vector(s[i], params[i].shape()), params[i]);
    for (size_t i = 0; i < momentum.size(); ++i)
      upload(Tensor::from_vector(s[params.size() + i], momentum[i].shape()), momentum[i]);
  }
};
}  // namespace

TEST_CASE("cuda::Graph replays a captured training step (forward, backward, SGD) like eager steps") {
  HEMO_REQUIRE_GPU();
  MathGuard math(false, false);
  const Tensor in1 = rand_f32(kInput, 51), in2 = rand_f32(kInput, 52);
  const Tensor x = Tensor::empty(kInput, DType::f32, gpu());

  Trainer eager;
  const auto start = eager.state();
  std::vector<std::vector<std::vector<float>>> want;
  for (const Tensor* in : {&in1, &in2, &in1}) {
    upload(*in, x);
    eager.step(x);
    want.push_back(eager.state());
  }

  Trainer t;  // the same initial values (the same seeds)
  cuda::Graph graph;
  {
    cuda::StreamGuard on(graph.stream());
    t.step(x);  // warm-up (fills the allocator's bins for the graph's stream), then undone
    cuda::synchronize_current();
  }
  t.set(start);
  graph.capture([&] { t.step(x); });
  {
    // Nothing ran: parameters and momentum as they were (the loss buffer aside: poisoned at first).
    auto now = t.state(), before = start;
    now.pop_back();
    before.pop_back();
    CHECK(now == before);
  }
  const Tensor* inputs[] = {&in1, &in2, &in1};
  for (size_t k = 0; k < 3; ++k) {
    upload(*inputs[k], x);
    const uint64_t syncs = host_syncs();
    graph.replay();
    CHECK(host_syncs() == syncs);
    const auto got = t.state();
    size_t differ = 0, total = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      total += got[i].size();
      for (size_t j = 0; j < got[i].size(); ++j)
        differ += std::memcmp(&got[i][j], &want[k][i][j], sizeof(float)) != 0;
    }
    CHECK_MESSAGE(differ == 0, "step ", k + 1, ": ", differ, " of ", total, " values differ from eager steps");
    MESSAGE("step ", k + 1, ": ", differ, " of ", total, " parameter, momentum and loss values differ from eager steps; loss ",
            got.back()[0]);
  }
  CHECK(want[0].back() != want[1].back());  // the steps did change something
}

TEST_CASE("cuda::Graph refuses host synchronizations and allocations inside a capture") {
  HEMO_REQUIRE_GPU();
  if (under_sanitizer()) return;  // every case below makes a CUDA call fail on purpose
  NoGradGuard no_grad;
  const Tensor x = on_gpu(rand_f32({4, 33}, 31));
  const Tensor y = nn::relu(x);  // eager, and a cached block for a relu on the legacy stream
  (void)nn::relu(x);
  cuda::Graph graph;
  {
    cuda::StreamGuard on(graph.stream());
    (void)nn::relu(x);  // warm-up: the relu's output block is cached for the graph's stream
  }
  const auto refused = [&](const char* what, const std::function<void()>& work, const std::vector<std::string>& says) {
    const std::string name = what;
    CAPTURE(name);
    std::string message;
    try {
      graph.capture(work);
    } catch (const Error& e) {
      message = e.what();
    }
    MESSAGE(name, ": ", message);
    CHECK(!message.empty());
    for (const std::string& s : says) CHECK_MESSAGE(message.find(s) != std::string::npos, "no '", s, "'");
    CHECK(!graph.captured());
  };
  const char* sync = "a host synchronization or an allocation inside a CUDA graph capture";
  refused("cudaStreamSynchronize", [&] {
    (void)nn::relu(x);
    cuda::synchronize_current();
  }, {sync, "cudaStreamSynchronize", "cudaErrorStreamCaptureUnsupported"});
  refused("a device value read on the host", [&] { (void)nn::relu(x).to(Device::cpu()); },
          {sync, "cudaErrorStreamCaptureUnsupported"});
  refused("a new allocation", [&] { (void)Tensor::empty({1000, 1000}, DType::f32, gpu()); },
          {sync, "cudaMalloc", "cudaErrorStreamCaptureUnsupported"});
  refused("work on the legacy stream", [&] {
    cuda::StreamGuard legacy(nullptr);
    (void)nn::relu(x);
  }, {"legacy default stream", "cudaErrorStreamCaptureImplicit"});
  refused("an unchecked synchronization", [&] { (void)cudaStreamSynchronize(cuda::current_stream()); },
          {"invalidated the CUDA graph capture", "cudaErrorStreamCaptureInvalidated"});

  // After the failures: the streams work, and a good capture succeeds and replays.
  Tensor out = Tensor::empty(x.shape(), DType::f32, gpu());
  graph.capture([&] {
    const Tensor r = nn::relu(x);
    copy_bytes(out.raw(), out.device(), r.raw(), r.device(), r.nbytes());
  });
  REQUIRE(graph.captured());
  graph.replay();
  check_equal(out, y, "relu replayed after refused captures");

  // Replayed from another stream (ordered by an event each way), and a graph made while hemo's
  // current stream is not the legacy one captures on that stream.
  cuda::Stream side;
  cuda::StreamGuard on_side(side);
  upload(Tensor::full(x.shape(), -7.0, DType::f32), out);
  graph.replay();
  check_equal(out, y, "relu replayed from a side stream");
  cuda::Graph on_current;
  CHECK(on_current.stream() == side.get());
}

#endif  // HEMO_WITH_CUDA
