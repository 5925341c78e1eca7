// `hemo bench op`'s cases: the op-case registry's entries (opcases/registry.h), the same ones the
// unit, gradcheck, torch-parity and cuda checks run, at their bench shapes (a typical MobileNetV2
// or ResNet layer) or at --shape. Forward counts are the entry's cost; the backward is counted as
// twice the forward's FLOPs and bytes (exact for convolutions and linear layers, whose backward is
// two products of the forward's size; an estimate for the others).
#include <sstream>

#include "core/error.h"
#include "opcases/registry.h"
#include "tensor/autograd.h"
#include "tools/bench_op.h"

namespace hemo::cli::bench {

namespace {

std::string shapes_text(const opcases::Shapes& shapes) {
  std::string out;
  for (const Shape& s : shapes) {
    std::string one;
    for (int64_t d : s) one += cat(one.empty() ? "" : "x", d);
    out += cat(out.empty() ? "" : ";", one.empty() ? "scalar" : one);
  }
  return out;
}

// "2x8x12x12;8x8x3x3;8": one shape per input of the case, in its order.
opcases::Shapes parse_shapes(const std::string& text, const opcases::OpCase& c) {
  std::string want;
  for (const auto& in : c.inputs) want += cat(want.empty() ? "" : ";", in.name);
  const std::string hint = cat(" (want one shape per input, ", want, ", e.g. ", shapes_text(c.bench), ")");
  opcases::Shapes shapes;
  std::stringstream all(text);
  for (std::string one; std::getline(all, one, ';');) {
    Shape s;
    std::stringstream dims(one);
    for (std::string d; std::getline(dims, d, 'x');) {
      size_t used = 0;
      int64_t v = 0;
      try {
        v = std::stoll(d, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      HEMO_CHECK(used == d.size() && v > 0, "bench op ", c.name, ": bad --shape '", text, "'", hint);
      s.push_back(v);
    }
    shapes.push_back(s);
  }
  HEMO_CHECK(shapes.size() == c.inputs.size(), "bench op ", c.name, ": --shape '", text, "' has ", shapes.size(),
             " shapes", hint);
  return shapes;
}

OpBench make(const opcases::OpCase& c, const opcases::Shapes& shapes, Device device, bool channels_last) {
  OpBench op;
  op.name = channels_last ? c.name + " (NHWC)" : c.name;
  op.shape = shapes_text(shapes);
  op.inputs = opcases::make_inputs(c, shapes, DType::f32, device, true);
  if (channels_last)
    for (Tensor& t : op.inputs)
      if (t.dim() == 4) {
        const bool grad = t.requires_grad();
        t = t.detach().to(MemoryFormat::channels_last);
        t.requires_grad_(grad);
      }
  op.forward = [&c](std::vector<Tensor>& in) { return c.forward(in); };  // registry entries live forever
  Shape out;
  {
    NoGradGuard no_grad;
    out = c.forward(op.inputs).shape();
  }
  const opcases::Cost fwd = c.cost(shapes, out, sizeof(float));
  op.flops_fwd = fwd.flops;
  op.bytes_fwd = fwd.bytes;
  op.flops_bwd = 2 * fwd.flops;
  op.bytes_bwd = 2 * fwd.bytes;
  return op;
}

}  // namespace

std::vector<const opcases::OpCase*> select_op_cases(const std::string& name) {
  std::vector<const opcases::OpCase*> out;
  if (name == "all") {
    for (const auto& c : opcases::registry())
      if (c.runs(opcases::Check::bench)) out.push_back(&c);
    return out;
  }
  if (const opcases::OpCase* c = opcases::find_case(name)) return {c};
  for (const opcases::OpCase* c : opcases::cases_of(name))
    if (c->runs(opcases::Check::bench)) out.push_back(c);
  if (!out.empty()) return out;
  std::string ops;  // the kernel headers, each once
  for (const auto& c : opcases::registry()) {
    const std::string op = c.name.substr(0, c.name.find('.'));
    if (ops.find(op + ",") == std::string::npos && ops.find(op + ")") == std::string::npos) ops += op + ", ";
  }
  throw Error(cat("bench op: unknown op '", name, "' (ops: ", ops, "or a case name: `hemo bench op --list`)"));
}

std::vector<OpBench> make_op_cases(const std::string& name, const std::string& shape, Device device,
                                   bool channels_last) {
  const std::vector<const opcases::OpCase*> cases = select_op_cases(name);
  HEMO_CHECK(shape.empty() || cases.size() == 1, "bench op ", name, ": --shape needs a single case, and '", name,
             "' has ", cases.size(), " (", cases.front()->name, ", ...; `hemo bench op --list`)");
  std::vector<OpBench> out;
  for (const opcases::OpCase* c : cases)
    out.push_back(make(*c, shape.empty() ? c->bench : parse_shapes(shape, *c), device, channels_last));
  return out;
}

std::string op_case_list() {
  std::string out;
  for (const auto& c : opcases::registry())
    if (c.runs(opcases::Check::bench)) out += cat(c.name, "  ", shapes_text(c.bench), "\n");
  return out;
}

}  // namespace hemo::cli::bench
