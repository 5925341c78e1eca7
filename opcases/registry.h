// The op-case registry: every differentiable op (and Grad-CAM's steps) described once, and every
// generic op check generated from that description (after ggml's test-backend-ops and PyTorch's
// OpInfo; docs/architecture.md, "Op tests: one entry per op").
//
// An OpCase names the op by its kernel header (kernels/<name>.h), with a variant after a dot
// ("conv2d.stride2", "activation.relu6"), and gives
//   inputs     one InputSpec per input of `forward`: the name the torch expression uses, how its
//              values are drawn, whether it takes a gradient;
//   samples    the input shapes the checks run on (one Shape per input); samples[0] is the small
//              one; cuda_samples are more, for the cuda check alone (device-kernel paths such
//              as two values per batch-norm channel, where float32 against float64 would
//              measure only cancellation); `bench` is a typical MobileNetV2 / ResNet layer's
//              shapes, for `hemo bench` (the cuda check runs it too);
//   forward    the op through its public nn:: function; it must be pure (same inputs, same
//              output; a case whose op updates state in place works on copies);
//   tol        the tolerance of each check, magnitude-scaled (tests/support/compare.h:
//              |a - e| <= tol (|e| + rms(e)); 0 in a cuda tolerance means bit for bit);
//   torch      a Python expression over the input names (float64 tensors; torch, F and the
//              helpers in tests/parity/opcase_torch.py in scope) computing the same output;
//   kinks      the op has points where its derivative jumps (ReLU, max-pool ties): gradcheck
//              skips points whose one-sided slopes disagree (at most a quarter); otherwise a
//              single such point fails the check;
//   skip       checks left out, each with its reason;
//   cost       FLOPs and bytes moved per call, from the input shapes and the output shape.
//
// The drivers (tests/unit, tests/gradcheck, tests/parity, tests/cuda: opcases_*.cpp) run every
// registered case: float32 forward against float64 (unit), central differences against autograd
// in float64 (gradcheck), PyTorch forward and backward (torch-parity), the CUDA device (emulated
// in a -DHEMO_CUDA=EMULATE build) against the CPU, forward and backward (cuda).
//
// Adding an op: one entry in opcases/<kernel header name>.cpp (a new file needs no CMake edit):
//   const Registrar reg([] {
//     OpCase c;
//     c.name = "elementwise.add";
//     c.inputs = {arg("a"), arg("b")};  // opcases/builders.h
//     c.samples = {{{3, 5, 2, 3}, {3, 5, 2, 3}}, {{1}, {1}}};
//     c.bench = {{8, 96, 56, 56}, {8, 96, 56, 56}};
//     c.forward = [](const std::vector<Tensor>& in) { return nn::add(in[0], in[1]); };
//     c.torch = "a + b";
//     add(std::move(c));
//   });
// and nothing else; HEMO_OPCASE=elementwise.add runs a driver on that case alone.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hemo::opcases {

// How an input's values are drawn (every draw is deterministic in the case name and input).
enum class Init {
  signed_mag,  // +-[lo, hi], sign random: never zero, so an unwritten output cannot pass
  uniform,     // [lo, hi]
  index,       // integers in [0, shape[index_of[0]][index_of[1]]) (class labels), stored as floats
  fixed,       // `values`, repeated to fill the shape (points on an op's kinks)
};

struct InputSpec {
  std::string name;
  Init init = Init::signed_mag;
  double lo = 0.1, hi = 1.0;
  bool grad = true;                 // differentiated by gradcheck, parity and cuda
  std::array<int, 2> index_of{};    // Init::index: {input, dim} whose size bounds the labels
  std::vector<double> values;       // Init::fixed
};

enum class Check { unit, gradcheck, parity, cuda, bench };
const char* check_name(Check c);

struct Tolerances {
  double unit = 1e-5;       // float32 forward against float64
  double grad = 1e-5;       // gradcheck: |analytic - numeric| <= grad * max(|a|, |n|, 1)
  double parity = 1e-5;     // hemo float32 against torch float64, output and gradients
  double cuda_fwd = 1e-5;   // CUDA against CPU, both float32
  double cuda_bwd = 1e-5;
};

struct Cost {
  double flops = 0, bytes = 0;
};

using Shapes = std::vector<Shape>;
using Forward = std::function<Tensor(const std::vector<Tensor>&)>;
using CostFn = std::function<Cost(const Shapes& in, const Shape& out, size_t elem_bytes)>;

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::vector<Shapes> samples;
  std::vector<Shapes> cuda_samples;
  Shapes bench;
  Forward forward;
  std::string torch;
  Tolerances tol{};
  bool kinks = false;
  std::map<Check, std::string> skip;
  CostFn cost;  // default: elementwise_cost

  bool runs(Check c) const { return skip.count(c) == 0; }
};

// One FLOP per output element; every input and the output read or written once.
Cost elementwise_cost(const Shapes& in, const Shape& out, size_t elem_bytes);

// Every registered case, sorted by name (names are unique; a duplicate aborts at registration).
const std::vector<OpCase>& registry();
// The case of that name, or nullptr.
const OpCase* find_case(const std::string& name);
// The cases whose name is `prefix` or starts with `prefix.`, e.g. "conv2d".
std::vector<const OpCase*> cases_of(const std::string& prefix);

// The inputs of one sample (registry order, shapes from `shapes`) as fresh leaves of that dtype on
// that device; those with InputSpec::grad require grad when `with_grad`.
std::vector<Tensor> make_inputs(const OpCase& c, const Shapes& shapes, DType dtype, Device device,
                                bool with_grad);

// Registration, at static-initialization time: one Registrar per opcases/<op>.cpp, whose function
// calls add() for each of its cases.
void add(OpCase c);
struct Registrar {
  explicit Registrar(void (*fn)());
};

}  // namespace hemo::opcases
