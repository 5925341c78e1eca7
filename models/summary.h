// What `hemo info` prints: every layer's output shape, parameter count and multiply-accumulate
// count at a given input size, found by propagating shapes through the module tree without
// computing anything (a 224x224 VGG-19 is summarized instantly).
//
// Shape rules: the layers of nn/layers.h have theirs here; Sequential chains its children; a
// composite model module (a residual block, a whole network) implements Traceable and says which
// children it runs on which shapes. A module with neither is an Error naming it, so a new
// architecture cannot be summarized wrongly by guesswork.
//
// MACs count the multiply-accumulates of convolutions, K*P*Q*(C/groups)*R*S per image for an
// output [K, P, Q], and of linear layers, in*out per row: the convention behind the usual
// "ResNet-50: 4.1 G" figures. Batch norm, activations, pooling, residual additions and the
// squeeze-excitation scaling are not counted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"

namespace hemo::models {

struct LayerRow {
  std::string name;  // dotted path from the root ("" for the root itself)
  std::string type;  // type_name()
  int depth = 0;     // 0 for the root
  bool leaf = false;
  Shape input, output;
  int64_t params = 0;  // of the whole subtree
  int64_t macs = 0;    // of the whole subtree, for the traced batch
};

class ShapeTracer {
 public:
  // Traces module `m`, reached as `name` from the module being traced (or the root's name):
  // records its row (and its children's) and returns its output shape.
  Shape run(const std::string& name, nn::Module& m, const Shape& in);
  // For Traceable::trace: runs the child `child_name` of `parent` (an Error if absent).
  Shape child(nn::Module& parent, const std::string& child_name, const Shape& in);
  // For Traceable::trace: runs children in order, each on the previous one's output.
  Shape chain(nn::Module& parent, const std::vector<std::string>& child_names, const Shape& in);

  const std::vector<LayerRow>& rows() const { return rows_; }

 private:
  Shape leaf(nn::Module& m, const Shape& in, int64_t* macs);
  std::vector<LayerRow> rows_;
  std::vector<std::string> path_;
};

// A composite module's shape rule (see above).
class Traceable {
 public:
  virtual ~Traceable() = default;
  virtual Shape trace(ShapeTracer& t, const Shape& in) = 0;
};

struct Summary {
  std::vector<LayerRow> rows;  // pre-order: a module, then its subtree
  Shape output;
  int64_t params = 0, macs = 0;
};

// Summary of `model` for an input of shape `input` ([N, C, H, W]); MACs are for that batch.
Summary summarize(nn::Module& model, const Shape& input);

}  // namespace hemo::models
