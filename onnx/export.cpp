#include "onnx/export.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <onnx/onnx.pb.h>

#include "kernels/pooling.h"
#include "models/alexnet.h"
#include "models/convnext.h"
#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/googlenet.h"
#include "models/inception.h"
#include "models/mobilenet_v2.h"
#include "models/mobilenet_v3.h"
#include "models/pbcnet7.h"
#include "models/squeezenet.h"
#include "models/resnet.h"
#include "models/vgg.h"
#include "nn/layers.h"
#include "onnx/graph.h"

namespace hemo::onnx_export {

namespace {

// A value of the graph and its shape without the batch dimension: [C, H, W], or [F] once flat.
struct Value {
  std::string name;
  std::vector<int64_t> shape;
};

std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

class Emitter {
 public:
  Emitter(GraphBuilder& g, int64_t opset) : g_(g), opset_(opset) {}
  int64_t batchnorms = 0;

  Value emit(nn::Module& m, const std::string& path, const Value& x) {
    if (auto* s = dynamic_cast<nn::Sequential*>(&m)) return sequence(*s, path, x);
    if (dynamic_cast<nn::Identity*>(&m) || dynamic_cast<nn::Dropout*>(&m) || dynamic_cast<nn::StochasticDepth*>(&m))
      return x;  // the identity at inference
    if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) return layernorm(*ln, path, x);
    if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) return conv(*c, path, x);
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) return batchnorm(*bn, path, x);
    if (auto* a = dynamic_cast<nn::Act*>(&m)) return activation(a->kind, path, x);
    if (auto* p = dynamic_cast<nn::MaxPool2d*>(&m)) return maxpool(*p, path, x);
    if (auto* p = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) return adaptive_avg_pool(p->output, path, x);
    if (auto* p = dynamic_cast<nn::AvgPool2d*>(&m)) return avgpool(*p, path, x);
    if (auto* l = dynamic_cast<nn::Linear*>(&m)) return linear(*l, path, x);
    if (dynamic_cast<nn::Flatten*>(&m)) return flatten(path, x);
    if (auto* b = dynamic_cast<models::BasicBlock*>(&m)) {
      Value y = chain(m, path, {"conv1", "bn1", "relu", "conv2", "bn2"}, x);
      return residual_relu(m, path, y, b->downsample != nullptr, x);
    }
    if (auto* b = dynamic_cast<models::Bottleneck*>(&m)) {
      Value y = chain(m, path, {"conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"}, x);
      return residual_relu(m, path, y, b->downsample != nullptr, x);
    }
    if (auto* b = dynamic_cast<models::InvertedResidualV2*>(&m)) {
      Value y = chain(m, path, {"conv"}, x);
      return b->use_res_connect ? add(path, x, y) : y;
    }
    if (dynamic_cast<models::BasicConv2d*>(&m))
      return activation(Activation::relu, join(path, "relu"), chain(m, path, {"conv", "bn"}, x));
    if (dynamic_cast<models::Inception*>(&m)) {
      std::vector<Value> branches;
      for (auto& [name, b] : m.named_children()) branches.push_back(emit(*b, join(path, name), x));
      return concat(join(path, "concat"), branches);
    }
    if (dynamic_cast<models::GoogLeNet*>(&m)) {  // the side heads are gone: inference models drop them
      HEMO_CHECK(m.find("aux1") == nullptr && m.find("aux2") == nullptr, "onnx export: ", path,
                 ": GoogLeNet still has its auxiliary heads (load it with models::prepare_for_inference)");
      Value y = chain(m, path, {"conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b",
                                "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d", "inception4e",
                                "maxpool4", "inception5a", "inception5b", "avgpool"}, x);
      return chain(m, path, {"dropout", "fc"}, flatten(join(path, "flatten"), y));
    }
    if (auto* b = dynamic_cast<models::InceptionV3Block*>(&m)) {
      std::vector<Value> outs;
      for (size_t i = 0; i < b->branches().size(); ++i) {
        const auto& br = b->branches()[i];
        Value y = chain(m, path, br.chain, x);
        if (!br.split.empty()) {
          std::vector<Value> parts;
          for (const std::string& s : br.split) parts.push_back(emit(child(m, path, s), join(path, s), y));
          y = concat(join(path, cat("branch", i, "_join")), parts);
        }
        outs.push_back(y);
      }
      return concat(join(path, "concat"), outs);
    }
    if (dynamic_cast<models::InceptionV3*>(&m)) {  // the side head is gone: inference models drop it
      HEMO_CHECK(m.find("AuxLogits") == nullptr, "onnx export: ", path,
                 ": Inception-v3 still has its auxiliary head (load it with models::prepare_for_inference)");
      const Value y = chain(m, path, models::InceptionV3::main_path(), x);
      return chain(m, path, {"dropout", "fc"}, flatten(join(path, "flatten"), y));
    }
    if (auto* b = dynamic_cast<models::MBConv*>(&m)) {
      Value y = chain(m, path, {"block"}, x);
      return b->use_res_connect ? add(path, y, x) : y;  // stochastic depth: the identity here
    }
    if (auto* b = dynamic_cast<models::InvertedResidualV3*>(&m)) {
      Value y = chain(m, path, {"block"}, x);
      return b->use_res_connect ? add(path, y, x) : y;
    }
    if (dynamic_cast<models::SqueezeExcitation*>(&m)) {
      Value s = chain(m, path, {"avgpool", "fc1", "activation", "fc2", "scale_activation"}, x);
      auto& n = g_.node("Mul", join(path, "scale"), {x.name, s.name});
      return {GraphBuilder::output(n), x.shape};
    }
    if (dynamic_cast<models::Fire*>(&m)) {
      const Value s = chain(m, path, {"squeeze", "squeeze_activation"}, x);
      const Value a = chain(m, path, {"expand1x1", "expand1x1_activation"}, s);
      const Value b = chain(m, path, {"expand3x3", "expand3x3_activation"}, s);
      return concat(join(path, "concat"), {a, b});
    }
    if (auto* b = dynamic_cast<models::DenseBlock*>(&m)) {
      std::vector<Value> features{x};
      for (auto& [name, layer] : b->named_children())
        features.push_back(emit(*layer, join(path, name), features.size() == 1 ? x : concat(join(path, name + ".input"), features)));
      return concat(join(path, "output"), features);
    }
    if (dynamic_cast<models::DenseNet*>(&m)) {
      Value y = activation(Activation::relu, join(path, "relu"), chain(m, path, {"features"}, x));
      y = adaptive_avg_pool({1, 1}, join(path, "avgpool"), y);
      return chain(m, path, {"classifier"}, flatten(join(path, "flatten"), y));
    }
    if (dynamic_cast<models::SqueezeNet*>(&m))
      return flatten(join(path, "flatten"), chain(m, path, {"features", "classifier"}, x));
    if (dynamic_cast<models::ResNet*>(&m)) {
      Value y = chain(m, path, {"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"}, x);
      return chain(m, path, {"fc"}, flatten(join(path, "flatten"), y));
    }
    if (auto* v = dynamic_cast<models::MobileNetV2*>(&m)) {
      Value y = emit(*v->features, join(path, "features"), x);
      y = adaptive_avg_pool({1, 1}, join(path, "avgpool"), y);  // a functional pool in MobileNetV2::forward
      return emit(*v->classifier, join(path, "classifier"), flatten(join(path, "flatten"), y));
    }
    if (dynamic_cast<models::MobileNetV3*>(&m) || dynamic_cast<models::VGG*>(&m) || dynamic_cast<models::AlexNet*>(&m) ||
        dynamic_cast<models::EfficientNet*>(&m)) {
      Value y = chain(m, path, {"features", "avgpool"}, x);
      return chain(m, path, {"classifier"}, flatten(join(path, "flatten"), y));
    }
    if (auto* b = dynamic_cast<models::CNBlock*>(&m)) {
      const Value y = chain(m, path, {"block"}, x);
      auto& n = g_.node("Mul", join(path, "layer_scale"), {y.name, g_.initializer(join(path, "layer_scale"), b->layer_scale)});
      return add(path, {GraphBuilder::output(n), y.shape}, x);  // stochastic depth: the identity here
    }
    if (dynamic_cast<models::ConvNeXt*>(&m)) return chain(m, path, {"features", "avgpool", "classifier"}, x);
    if (dynamic_cast<models::PBCNet7*>(&m)) {
      Value y = chain(m, path, {"features"}, x);
      return chain(m, path, {"classifier"}, flatten(join(path, "flatten"), y));
    }
    throw Error(cat("onnx export: module '", path.empty() ? "(root)" : path, "' is a ", m.type_name(),
                    ", which has no ONNX mapping in hemo"));
  }

 private:
  GraphBuilder& g_;
  int64_t opset_;

  nn::Module& child(nn::Module& m, const std::string& path, const std::string& name) {
    nn::Module* c = m.find(name);
    HEMO_CHECK(c != nullptr, "onnx export: ", path, " has no child '", name, "'");
    return *c;
  }
  Value chain(nn::Module& m, const std::string& path, const std::vector<std::string>& names, Value x) {
    for (const std::string& n : names) x = emit(child(m, path, n), join(path, n), x);
    return x;
  }
  Value sequence(nn::Sequential& s, const std::string& path, Value x) {
    for (auto& [name, c] : s.named_children()) x = emit(*c, join(path, name), x);
    return x;
  }
  // Joins [C_k, H, W] values along channels.
  Value concat(const std::string& path, const std::vector<Value>& xs) {
    std::vector<std::string> names;
    Value out{"", xs.at(0).shape};
    out.shape[0] = 0;
    for (const Value& v : xs) {
      names.push_back(v.name);
      out.shape[0] += v.shape[0];
    }
    auto& n = g_.node("Concat", path, names);
    GraphBuilder::attr(n, "axis", int64_t{1});
    out.name = GraphBuilder::output(n);
    return out;
  }
  Value add(const std::string& path, const Value& a, const Value& b) {
    HEMO_CHECK(a.shape == b.shape, "onnx export: ", path, ": residual shapes differ");
    auto& n = g_.node("Add", join(path, "add"), {a.name, b.name});
    return {GraphBuilder::output(n), a.shape};
  }
  Value residual_relu(nn::Module& m, const std::string& path, const Value& y, bool downsample, const Value& x) {
    const Value s = downsample ? chain(m, path, {"downsample"}, x) : x;
    return emit(child(m, path, "relu"), join(path, "relu_out"), add(path, y, s));
  }
  static void require_image(const std::string& path, const Value& x) {
    HEMO_CHECK(x.shape.size() == 3, "onnx export: ", path, " expects an image-shaped [C, H, W] input");
  }

  Value conv(nn::Conv2d& c, const std::string& path, const Value& x) {
    require_image(path, x);
    std::vector<std::string> inputs{x.name, g_.initializer(join(path, "weight"), c.weight)};
    if (c.bias.defined()) inputs.push_back(g_.initializer(join(path, "bias"), c.bias));
    auto& n = g_.node("Conv", path, inputs);
    const auto& o = c.opt;
    GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{o.kernel[0], o.kernel[1]});
    GraphBuilder::attr(n, "strides", std::vector<int64_t>{o.stride[0], o.stride[1]});
    GraphBuilder::attr(n, "pads", std::vector<int64_t>{o.padding[0], o.padding[1], o.padding[0], o.padding[1]});
    GraphBuilder::attr(n, "dilations", std::vector<int64_t>{o.dilation[0], o.dilation[1]});
    GraphBuilder::attr(n, "group", o.groups);
    const nn::Pair hw = c.output_size({x.shape[1], x.shape[2]});
    return {GraphBuilder::output(n), {c.out_channels, hw[0], hw[1]}};
  }
  Value batchnorm(nn::BatchNorm2d& bn, const std::string& path, const Value& x) {
    ++batchnorms;
    auto& n = g_.node("BatchNormalization", path,
                      {x.name, g_.initializer(join(path, "weight"), bn.weight), g_.initializer(join(path, "bias"), bn.bias),
                       g_.initializer(join(path, "running_mean"), bn.running_mean),
                       g_.initializer(join(path, "running_var"), bn.running_var)});
    GraphBuilder::attr(n, "epsilon", static_cast<float>(bn.eps));
    return {GraphBuilder::output(n), x.shape};
  }
  Value activation(Activation a, const std::string& path, const Value& x) {
    onnx::NodeProto* n = nullptr;
    switch (a) {
      case Activation::relu: n = &g_.node("Relu", path, {x.name}); break;
      case Activation::relu6:
        n = &g_.node("Clip", path, {x.name, g_.initializer(join(path, "min"), std::vector<float>{0.f}, {}),
                                    g_.initializer(join(path, "max"), std::vector<float>{6.f}, {})});
        break;
      case Activation::hardswish: n = &g_.node("HardSwish", path, {x.name}); break;
      case Activation::hardsigmoid:
        n = &g_.node("HardSigmoid", path, {x.name});
        GraphBuilder::attr(*n, "alpha", 1.0f / 6.0f);
        GraphBuilder::attr(*n, "beta", 0.5f);
        break;
      case Activation::sigmoid: n = &g_.node("Sigmoid", path, {x.name}); break;
      case Activation::gelu: {  // exact: x (1 + erf(x / sqrt 2)) / 2 (a Gelu node needs opset 20)
        auto& d = g_.node("Div", join(path, "scaled"), {x.name, g_.initializer(join(path, "sqrt2"), std::vector<float>{1.41421356f}, {})});
        auto& e = g_.node("Erf", join(path, "erf"), {GraphBuilder::output(d)});
        auto& one = g_.node("Add", join(path, "one_plus"), {GraphBuilder::output(e), g_.initializer(join(path, "one"), std::vector<float>{1.f}, {})});
        auto& xm = g_.node("Mul", join(path, "times_x"), {x.name, GraphBuilder::output(one)});
        n = &g_.node("Mul", path, {GraphBuilder::output(xm), g_.initializer(join(path, "half"), std::vector<float>{0.5f}, {})});
        break;
      }
      case Activation::silu: {  // x sigmoid(x)
        auto& sg = g_.node("Sigmoid", join(path, "sigmoid"), {x.name});
        n = &g_.node("Mul", path, {x.name, GraphBuilder::output(sg)});
        break;
      }
    }
    HEMO_CHECK(n != nullptr, "onnx export: ", path, ": unknown activation");
    return {GraphBuilder::output(*n), x.shape};
  }
  Value maxpool(nn::MaxPool2d& p, const std::string& path, const Value& x) {
    require_image(path, x);
    auto& n = g_.node("MaxPool", path, {x.name});
    GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{p.kernel[0], p.kernel[1]});
    GraphBuilder::attr(n, "strides", std::vector<int64_t>{p.stride[0], p.stride[1]});
    GraphBuilder::attr(n, "pads", std::vector<int64_t>{p.padding[0], p.padding[1], p.padding[0], p.padding[1]});
    GraphBuilder::attr(n, "ceil_mode", int64_t{p.ceil_mode ? 1 : 0});
    std::vector<int64_t> s{x.shape[0], 0, 0};
    for (int d = 0; d < 2; ++d)
      s[static_cast<size_t>(d) + 1] = pool_output_size(x.shape[static_cast<size_t>(d) + 1], p.kernel[d], p.stride[d],
                                                       p.padding[d], p.ceil_mode);
    return {GraphBuilder::output(n), s};
  }
  Value avgpool(nn::AvgPool2d& p, const std::string& path, const Value& x) {
    require_image(path, x);
    auto& n = g_.node("AveragePool", path, {x.name});
    GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{p.kernel[0], p.kernel[1]});
    GraphBuilder::attr(n, "strides", std::vector<int64_t>{p.stride[0], p.stride[1]});
    GraphBuilder::attr(n, "pads", std::vector<int64_t>{p.padding[0], p.padding[1], p.padding[0], p.padding[1]});
    GraphBuilder::attr(n, "count_include_pad", int64_t{1});  // as torch's default and hemo's AvgPool2d
    std::vector<int64_t> s{x.shape[0], 0, 0};
    for (int d = 0; d < 2; ++d)
      s[static_cast<size_t>(d) + 1] =
          pool_output_size(x.shape[static_cast<size_t>(d) + 1], p.kernel[d], p.stride[d], p.padding[d], false);
    return {GraphBuilder::output(n), s};
  }
  // torch's adaptive average pool: output cell i of O averages input rows [floor(i H / O),
  // ceil((i + 1) H / O)).
  Value adaptive_avg_pool(nn::Pair out, const std::string& path, const Value& x) {
    require_image(path, x);
    const int64_t c = x.shape[0], h = x.shape[1], w = x.shape[2];
    if (out[0] == 1 && out[1] == 1) {
      auto& n = g_.node("GlobalAveragePool", path, {x.name});
      return {GraphBuilder::output(n), {c, 1, 1}};
    }
    if (h % out[0] == 0 && w % out[1] == 0) {  // bins tile the input (VGG at 224: 7x7 -> 7x7)
      auto& n = g_.node("AveragePool", path, {x.name});
      GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{h / out[0], w / out[1]});
      GraphBuilder::attr(n, "strides", std::vector<int64_t>{h / out[0], w / out[1]});
      return {GraphBuilder::output(n), {c, out[0], out[1]}};
    }
    // General case: [N, C, H W] x P[H W, O0 O1], P holding each output cell's averaging weights.
    std::vector<float> p(static_cast<size_t>(h * w * out[0] * out[1]), 0.f);
    for (int64_t i = 0; i < out[0]; ++i) {
      const int64_t y0 = i * h / out[0], y1 = ((i + 1) * h + out[0] - 1) / out[0];
      for (int64_t j = 0; j < out[1]; ++j) {
        const int64_t x0 = j * w / out[1], x1 = ((j + 1) * w + out[1] - 1) / out[1];
        const float weight = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t xx = x0; xx < x1; ++xx) p[static_cast<size_t>((y * w + xx) * out[0] * out[1] + i * out[1] + j)] = weight;
      }
    }
    auto& flat = g_.node("Reshape", join(path, "flat"), {x.name, g_.initializer_i64(join(path, "flat_shape"), {0, c, h * w})});
    auto& mm = g_.node("MatMul", path, {GraphBuilder::output(flat), g_.initializer(join(path, "bins"), p, {h * w, out[0] * out[1]})});
    auto& back = g_.node("Reshape", join(path, "unflat"),
                         {GraphBuilder::output(mm), g_.initializer_i64(join(path, "unflat_shape"), {0, c, out[0], out[1]})});
    return {GraphBuilder::output(back), {c, out[0], out[1]}};
  }
  Value flatten(const std::string& path, const Value& x) {
    auto& n = g_.node("Flatten", path, {x.name});
    GraphBuilder::attr(n, "axis", int64_t{1});
    int64_t f = 1;
    for (int64_t d : x.shape) f *= d;
    return {GraphBuilder::output(n), {f}};
  }
  // LayerNorm over the channels of a [C, H, W] value: LayerNormalization over the last axis of its
  // [N, H, W, C] transpose (opset 17), transposed back; of a [C] value, directly.
  Value layernorm(nn::LayerNorm& ln, const std::string& path, const Value& x) {
    HEMO_CHECK(opset_ >= 17, "onnx export: ", path, ": LayerNorm needs opset 17 or later (LayerNormalization), not ",
               opset_);
    HEMO_CHECK(!x.shape.empty() && x.shape[0] == ln.channels, "onnx export: ", path, " normalizes ", ln.channels,
               " channels, gets ", shape_str(x.shape));
    const bool image = x.shape.size() == 3;
    std::string in = x.name;
    if (image) {
      auto& t = g_.node("Transpose", join(path, "to_nhwc"), {x.name});
      GraphBuilder::attr(t, "perm", std::vector<int64_t>{0, 2, 3, 1});
      in = GraphBuilder::output(t);
    }
    auto& n = g_.node("LayerNormalization", path,
                      {in, g_.initializer(join(path, "weight"), ln.weight), g_.initializer(join(path, "bias"), ln.bias)});
    GraphBuilder::attr(n, "axis", int64_t{-1});
    GraphBuilder::attr(n, "epsilon", static_cast<float>(ln.eps));
    if (!image) return {GraphBuilder::output(n), x.shape};
    auto& back = g_.node("Transpose", join(path, "to_nchw"), {GraphBuilder::output(n)});
    GraphBuilder::attr(back, "perm", std::vector<int64_t>{0, 3, 1, 2});
    return {GraphBuilder::output(back), x.shape};
  }
  Value linear(nn::Linear& l, const std::string& path, const Value& x) {
    if (l.over_channels && x.shape.size() == 3) {  // at every position over the channels: a 1x1 convolution
      HEMO_CHECK(x.shape[0] == l.in_features, "onnx export: ", path, " takes ", l.in_features, " channels, gets ",
                 shape_str(x.shape));
      std::vector<std::string> inputs{x.name, g_.initializer(join(path, "weight"),
                                                             l.weight.reshape({l.out_features, l.in_features, 1, 1}))};
      if (l.bias.defined()) inputs.push_back(g_.initializer(join(path, "bias"), l.bias));
      auto& n = g_.node("Conv", path, inputs);
      GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{1, 1});
      return {GraphBuilder::output(n), {l.out_features, x.shape[1], x.shape[2]}};
    }
    HEMO_CHECK(x.shape.size() == 1 && x.shape[0] == l.in_features, "onnx export: ", path, " takes ", l.in_features,
               " features, gets ", shape_str(x.shape));
    std::vector<std::string> inputs{x.name, g_.initializer(join(path, "weight"), l.weight)};
    if (l.bias.defined()) inputs.push_back(g_.initializer(join(path, "bias"), l.bias));
    auto& n = g_.node("Gemm", path, inputs);
    GraphBuilder::attr(n, "transB", int64_t{1});
    return {GraphBuilder::output(n), {l.out_features}};
  }
};

void set_value_info(onnx::ValueInfoProto& v, const std::string& name, const std::vector<int64_t>& dims, bool dynamic_batch) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* s = t->mutable_shape();
  auto* batch = s->add_dim();
  if (dynamic_batch) batch->set_dim_param("batch");
  else batch->set_dim_value(1);
  for (int64_t d : dims) s->add_dim()->set_dim_value(d);
}

void add_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = model.add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}

}  // namespace

ExportReport export_onnx(nn::Module& model, const weights::ModelMeta& meta, const ExportOptions& options,
                         const std::string& path) {
  HEMO_CHECK(options.opset >= kMinOpset && options.opset <= kMaxOpset, "onnx export: opset ", options.opset,
             " is not supported (", kMinOpset, " to ", kMaxOpset, ")");
  HEMO_CHECK(!model.is_training(), "onnx export: the model must be in eval mode");
  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);  // 8: Debian's onnx.proto (ONNX 1.12)
  proto.set_producer_name("hemo");
  proto.set_producer_version(options.producer_version);
  proto.set_domain("org.hemo");
  proto.set_model_version(1);
  proto.set_doc_string(cat(meta.architecture, " exported by hemo from ", options.source));
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);

  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name(meta.architecture);
  GraphBuilder g(*graph);
  Emitter e(g, options.opset);
  const int64_t s = meta.input_size;
  Value y = e.emit(model, "", Value{"input", {3, s, s}});
  HEMO_CHECK(y.shape == std::vector<int64_t>{meta.num_classes}, "onnx export: the graph ends in ", shape_str(y.shape),
             ", not the ", meta.num_classes, " classes of the metadata");
  auto& out = g.node("Identity", "logits_identity", {y.name});
  out.set_output(0, "logits");
  set_value_info(*graph->add_input(), "input", {3, s, s}, options.dynamic_batch);
  set_value_info(*graph->add_output(), "logits", {meta.num_classes}, options.dynamic_batch);

  const nlohmann::json mean(meta.mean), stdev(meta.std), names(meta.class_names);
  add_metadata(proto, "architecture", meta.architecture);
  add_metadata(proto, "num_classes", std::to_string(meta.num_classes));
  add_metadata(proto, "class_names", names.dump());
  add_metadata(proto, "input_size", std::to_string(s));
  add_metadata(proto, "mean", mean.dump());
  add_metadata(proto, "std", stdev.dump());
  add_metadata(proto, "layout", "NCHW, RGB");
  add_metadata(proto, "batchnorm", e.batchnorms ? "kept" : "folded into the convolutions (or none)");
  add_metadata(proto, "preprocessing",
               cat("decode to RGB; resize the shorter side to ", s, " (bilinear, antialiased) and crop the centre ", s,
                   "x", s, "; scale to [0, 1]; subtract mean and divide by std per channel; NCHW float32. "
                   "Outputs are logits: apply softmax for probabilities."));

  const std::filesystem::path target(path);
  const std::filesystem::path tmp = target.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(cat(path, ": cannot write the ONNX file: ", std::strerror(errno)));
    if (!proto.SerializeToOstream(&f) || !f.flush()) {
      std::filesystem::remove(tmp);
      throw Error(cat(path, ": writing the ONNX file failed (disk full?)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(cat(path, ": cannot write the ONNX file: ", ec.message()));
  }
  return {g.node_count(), g.initializer_bytes(), e.batchnorms};
}

}  // namespace hemo::onnx_export
