// The temporary op table of `hemo bench op` (see tools/bench_op.h): four ops with their typical
// shapes and FLOP/byte counts, until the op-case registry (opcases/) replaces it.
// Counts: FLOPs are 2 per multiply-add (batchnorm: 6 per element forward, 8 backward); bytes are
// the tensors each pass must read and write once (float32), the least traffic it could have.
#include <algorithm>
#include <cstring>
#include <sstream>

#include "nn/ops_conv.h"
#include "nn/ops_linear.h"
#include "nn/ops_norm.h"
#include "core/error.h"
#include "tools/bench_op.h"

namespace hemo::cli::bench {

namespace {

struct CaseDef {
  const char* name;
  const char* dims;            // what the integers of --shape mean
  const char* typical;         // the default --shape
  OpBench (*make)(const std::vector<int64_t>& d, Device device);
};

Tensor input(const Shape& shape, Device device, bool grad, uint64_t seed) {
  Tensor t = random_tensor(shape, device, seed);
  if (grad) t.requires_grad_();
  return t;
}

// conv2d and depthwise_conv2d: stride 1, "same" padding; groups = C for depthwise.
OpBench conv_case(const std::vector<int64_t>& d, Device device, bool depthwise) {
  const int64_t n = d[0], c = d[1], h = d[2], w = d[3], k = depthwise ? c : d[4], r = depthwise ? d[4] : d[5];
  const int64_t groups = depthwise ? c : 1;
  OpBench op;
  op.inputs = {input({n, c, h, w}, device, true, 1), input({k, c / groups, r, r}, device, true, 2),
               input({k}, device, true, 3)};
  op.forward = [r, groups](std::vector<Tensor>& in) {
    return nn::conv2d(in[0], in[1], in[2], {1, 1}, {r / 2, r / 2}, {1, 1}, groups);
  };
  const double macs = double(n) * k * h * w * (c / groups) * r * r;
  const double x = double(n) * c * h * w * 4, wt = double(k) * (c / groups) * r * r * 4, y = double(n) * k * h * w * 4;
  op.flops_fwd = 2 * macs;
  op.flops_bwd = 4 * macs;
  op.bytes_fwd = x + wt + y;
  op.bytes_bwd = 2 * x + 2 * wt + y;  // read x, w, dy; write dx, dw
  return op;
}

OpBench batchnorm_case(const std::vector<int64_t>& d, Device device) {
  const int64_t n = d[0], c = d[1], h = d[2], w = d[3];
  OpBench op;
  op.inputs = {input({n, c, h, w}, device, true, 1), Tensor::ones({c}, DType::f32, device).requires_grad_(),
               Tensor::zeros({c}, DType::f32, device).requires_grad_(), Tensor::zeros({c}, DType::f32, device),
               Tensor::ones({c}, DType::f32, device)};
  op.forward = [](std::vector<Tensor>& in) { return nn::batch_norm(in[0], in[1], in[2], in[3], in[4], true, 0.1, 1e-5); };
  const double e = double(n) * c * h * w;
  op.flops_fwd = 6 * e;
  op.flops_bwd = 8 * e;
  op.bytes_fwd = 2 * e * 4;  // read x, write y
  op.bytes_bwd = 3 * e * 4;  // read x, dy; write dx
  return op;
}

OpBench linear_case(const std::vector<int64_t>& d, Device device) {
  const int64_t n = d[0], in_f = d[1], out_f = d[2];
  OpBench op;
  op.inputs = {input({n, in_f}, device, true, 1), input({out_f, in_f}, device, true, 2), input({out_f}, device, true, 3)};
  op.forward = [](std::vector<Tensor>& in) { return nn::linear(in[0], in[1], in[2]); };
  const double macs = double(n) * in_f * out_f;
  const double x = double(n) * in_f * 4, wt = double(out_f) * in_f * 4, y = double(n) * out_f * 4;
  op.flops_fwd = 2 * macs;
  op.flops_bwd = 4 * macs;
  op.bytes_fwd = x + wt + y;
  op.bytes_bwd = 2 * x + 2 * wt + y;
  return op;
}

const CaseDef kCases[] = {
    {"conv2d", "N,C,H,W,K,R", "8,64,56,56,64,3", [](const auto& d, Device v) { return conv_case(d, v, false); }},
    {"depthwise_conv2d", "N,C,H,W,R", "8,144,56,56,3", [](const auto& d, Device v) { return conv_case(d, v, true); }},
    {"batchnorm", "N,C,H,W", "8,64,56,56", batchnorm_case},
    {"linear", "N,IN,OUT", "256,1024,1024", linear_case},
};

std::vector<int64_t> parse_ints(const std::string& text, const CaseDef& def) {
  std::vector<int64_t> v;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    int64_t x = 0;
    try {
      x = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    HEMO_CHECK(used == item.size() && x > 0, "bench op ", def.name, ": bad --shape '", text, "' (want ", def.dims, ")");
    v.push_back(x);
  }
  const size_t want = static_cast<size_t>(std::count(def.dims, def.dims + std::strlen(def.dims), ',') + 1);
  HEMO_CHECK(v.size() == want, "bench op ", def.name, ": --shape '", text, "' has ", v.size(), " numbers, want ", def.dims);
  return v;
}

}  // namespace

OpBench make_op_case(const std::string& name, const std::string& shape, Device device) {
  for (const CaseDef& def : kCases) {
    if (name != def.name) continue;
    const std::string text = shape.empty() ? def.typical : shape;
    OpBench op = def.make(parse_ints(text, def), device);
    op.name = name;
    op.shape = text;
    return op;
  }
  std::string known;
  for (const CaseDef& def : kCases) known += cat(known.empty() ? "" : ", ", def.name);
  throw Error(cat("bench op: unknown op '", name, "' (known: ", known, ")"));
}

std::vector<std::string> op_case_names() {
  std::vector<std::string> names;
  for (const CaseDef& def : kCases) names.push_back(def.name);
  return names;
}

std::string op_case_help() {
  std::string help;
  for (const CaseDef& def : kCases) help += cat(def.name, " ", def.dims, " (default ", def.typical, "); ");
  return help;
}

}  // namespace hemo::cli::bench
