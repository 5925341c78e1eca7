// GraphBuilder: appends nodes and initializers to an onnx::GraphProto (the protobuf message of
// Debian's onnx.proto, compiled by protoc: onnx/CMakeLists.txt), naming intermediate values.
// Tensors become float32 initializers stored as raw little-endian data, under the name given
// (hemo uses the parameter's state_dict key, so an exported file reads like the model).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace onnx {
class GraphProto;
class NodeProto;
}  // namespace onnx

namespace hemo::onnx_export {

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // A float32 initializer holding `t` (any device; copied to the host); returns `name`.
  std::string initializer(const std::string& name, const Tensor& t);
  // A float32 or int64 initializer from host values.
  std::string initializer(const std::string& name, const std::vector<float>& values, const std::vector<int64_t>& dims);
  std::string initializer_i64(const std::string& name, const std::vector<int64_t>& values);

  // Adds `op_type`(inputs) named `name` (made unique with a "#2", "#3", ... suffix when a module
  // runs more than once, as ResNet's shared relu), with one output named after it.
  onnx::NodeProto& node(const std::string& op_type, const std::string& name, const std::vector<std::string>& inputs);
  static std::string output(const onnx::NodeProto& n);

  static void attr(onnx::NodeProto& n, const std::string& key, int64_t v);
  static void attr(onnx::NodeProto& n, const std::string& key, float v);
  static void attr(onnx::NodeProto& n, const std::string& key, const std::vector<int64_t>& v);

  int64_t node_count() const { return nodes_; }
  int64_t initializer_bytes() const { return bytes_; }

 private:
  onnx::GraphProto& graph_;
  int64_t nodes_ = 0, bytes_ = 0;
  std::map<std::string, int64_t> uses_;
};

}  // namespace hemo::onnx_export
