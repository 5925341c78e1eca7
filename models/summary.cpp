#include "models/summary.h"

#include "kernels/pooling.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {
std::string joined(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& p : path) s += (s.empty() ? "" : ".") + p;
  return s;
}

void require_4d(const Shape& in, const std::string& what) {
  HEMO_CHECK(in.size() == 4, "summary: ", what, " expects an [N, C, H, W] input, got ", shape_str(in));
}
}  // namespace

Shape ShapeTracer::run(const std::string& name, nn::Module& m, const Shape& in) {
  path_.push_back(name);
  const size_t row = rows_.size();
  LayerRow r;
  r.name = joined(path_);
  r.type = m.type_name();
  r.depth = static_cast<int>(path_.size()) - 1;
  r.input = in;
  r.params = m.parameter_count();
  rows_.push_back(r);

  Shape out;
  int64_t own_macs = 0;
  if (auto* traceable = dynamic_cast<Traceable*>(&m)) {
    out = traceable->trace(*this, in);
  } else if (dynamic_cast<nn::Sequential*>(&m)) {
    out = in;
    for (const auto& [child_name, c] : m.named_children()) out = child(m, child_name, out);
  } else {
    HEMO_CHECK(m.named_children().empty(), "summary: ", r.type, " at '", r.name,
               "' has children but no shape rule (make it Traceable)");
    out = leaf(m, in, &own_macs);
    rows_[row].leaf = true;
  }
  int64_t macs = own_macs;
  for (size_t i = row + 1; i < rows_.size(); ++i)
    if (rows_[i].leaf) macs += rows_[i].macs;
  rows_[row].output = out;
  rows_[row].macs = macs;
  path_.pop_back();
  return out;
}

Shape ShapeTracer::child(nn::Module& parent, const std::string& child_name, const Shape& in) {
  nn::Module* c = parent.find(child_name);
  HEMO_CHECK(c != nullptr, "summary: ", parent.type_name(), " at '", joined(path_), "' has no child '", child_name, "'");
  return run(child_name, *c, in);
}

Shape ShapeTracer::chain(nn::Module& parent, const std::vector<std::string>& child_names, const Shape& in) {
  Shape s = in;
  for (const auto& n : child_names) s = child(parent, n, s);
  return s;
}

Shape ShapeTracer::leaf(nn::Module& m, const Shape& in, int64_t* macs) {
  const std::string where = cat(m.type_name(), " at '", joined(path_), "'");
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
    require_4d(in, where);
    HEMO_CHECK(in[1] == conv->in_channels, "summary: ", where, " expects ", conv->in_channels, " channels, got ",
               shape_str(in));
    nn::Pair pq = conv->output_size({in[2], in[3]});
    HEMO_CHECK(pq[0] >= 1 && pq[1] >= 1, "summary: ", where, ": the input ", shape_str(in), " is too small");
    Shape out{in[0], conv->out_channels, pq[0], pq[1]};
    *macs = shape_numel(out) * (conv->in_channels / conv->opt.groups) * conv->opt.kernel[0] * conv->opt.kernel[1];
    return out;
  }
  if (auto* fc = dynamic_cast<nn::Linear*>(&m); fc && fc->over_channels && in.size() == 4) {
    HEMO_CHECK(in[1] == fc->in_features, "summary: ", where, " expects ", fc->in_features, " channels, got ",
               shape_str(in));
    *macs = in[0] * in[2] * in[3] * fc->in_features * fc->out_features;  // a 1x1 convolution
    return {in[0], fc->out_features, in[2], in[3]};
  }
  if (auto* fc = dynamic_cast<nn::Linear*>(&m)) {
    HEMO_CHECK(!in.empty(), "summary: ", where, " given a scalar");
    const int64_t features = in.size() == 2 ? in[1] : shape_numel(in) / in[0];
    HEMO_CHECK(features == fc->in_features, "summary: ", where, " expects ", fc->in_features, " features, got ",
               shape_str(in), " (the model was built for another input size?)");
    *macs = in[0] * fc->in_features * fc->out_features;
    return {in[0], fc->out_features};
  }
  if (auto* pool = dynamic_cast<nn::MaxPool2d*>(&m)) {
    require_4d(in, where);
    Shape out = in;
    for (size_t i = 0; i < 2; ++i)
      out[2 + i] = pool_output_size(in[2 + i], pool->kernel[i], pool->stride[i], pool->padding[i], pool->ceil_mode);
    HEMO_CHECK(out[2] >= 1 && out[3] >= 1, "summary: ", where, ": the input ", shape_str(in), " is too small");
    return out;
  }
  if (auto* pool = dynamic_cast<nn::AvgPool2d*>(&m)) {
    require_4d(in, where);
    Shape out = in;
    for (size_t i = 0; i < 2; ++i)
      out[2 + i] = pool_output_size(in[2 + i], pool->kernel[i], pool->stride[i], pool->padding[i], false);
    HEMO_CHECK(out[2] >= 1 && out[3] >= 1, "summary: ", where, ": the input ", shape_str(in), " is too small");
    return out;
  }
  if (auto* pool = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) {
    require_4d(in, where);
    return {in[0], in[1], pool->output[0], pool->output[1]};
  }
  if (dynamic_cast<nn::Flatten*>(&m)) return {in[0], shape_numel(in) / in[0]};
  if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
    HEMO_CHECK(in.size() >= 2 && in[1] == bn->channels, "summary: ", where, " expects ", bn->channels,
               " channels, got ", shape_str(in));
    return in;
  }
  if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) {
    HEMO_CHECK(in.size() >= 2 && in[1] == ln->channels, "summary: ", where, " expects ", ln->channels,
               " channels, got ", shape_str(in));
    return in;
  }
  if (dynamic_cast<nn::Act*>(&m) || dynamic_cast<nn::Dropout*>(&m) || dynamic_cast<nn::Identity*>(&m) ||
      dynamic_cast<nn::StochasticDepth*>(&m))
    return in;
  throw Error(cat("summary: no shape rule for ", where));
}

Summary summarize(nn::Module& model, const Shape& input) {
  ShapeTracer t;
  Summary s;
  s.output = t.run("", model, input);
  s.rows = t.rows();
  s.rows.front().name = "";
  s.params = model.parameter_count();
  s.macs = s.rows.front().macs;
  return s;
}

}  // namespace hemo::models
