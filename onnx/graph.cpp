#include "onnx/graph.h"

#include <cstring>

#include <onnx/onnx.pb.h>

#include "core/error.h"

namespace hemo::onnx_export {

std::string GraphBuilder::initializer(const std::string& name, const Tensor& t) {
  HEMO_CHECK(t.dtype() == DType::f32, "onnx export: ", name, " is not float32");
  const std::vector<float> values = t.to_vector<float>();
  return initializer(name, values, t.shape());
}

std::string GraphBuilder::initializer(const std::string& name, const std::vector<float>& values,
                                      const std::vector<int64_t>& dims) {
  onnx::TensorProto* p = graph_.add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) p->add_dims(d);
  // raw_data is little-endian, as x86-64 and aarch64 store floats.
  p->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  bytes_ += static_cast<int64_t>(values.size() * sizeof(float));
  return name;
}

std::string GraphBuilder::initializer_i64(const std::string& name, const std::vector<int64_t>& values) {
  onnx::TensorProto* p = graph_.add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::INT64);
  p->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) p->add_int64_data(v);
  return name;
}

onnx::NodeProto& GraphBuilder::node(const std::string& op_type, const std::string& name,
                                    const std::vector<std::string>& inputs) {
  onnx::NodeProto* n = graph_.add_node();
  n->set_op_type(op_type);
  const int64_t use = ++uses_[name];
  const std::string unique = use == 1 ? name : cat(name, "#", use);
  n->set_name(unique);
  for (const std::string& in : inputs) n->add_input(in);
  n->add_output(unique + ":out");
  ++nodes_;
  return *n;
}

std::string GraphBuilder::output(const onnx::NodeProto& n) { return n.output(0); }

void GraphBuilder::attr(onnx::NodeProto& n, const std::string& key, int64_t v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void GraphBuilder::attr(onnx::NodeProto& n, const std::string& key, float v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void GraphBuilder::attr(onnx::NodeProto& n, const std::string& key, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

}  // namespace hemo::onnx_export
