#include "models/inference.h"

#include <string>
#include <utility>
#include <vector>

#include "models/aux_classifiers.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {

using Children = std::vector<std::pair<std::string, nn::ModulePtr>>;

// The convolution whose output the batch norm kids[i] normalizes, or null (see the header).
nn::Conv2d* producer(const nn::Module& parent, const Children& kids, size_t i) {
  if (dynamic_cast<const nn::Sequential*>(&parent))
    return i > 0 ? dynamic_cast<nn::Conv2d*>(kids[i - 1].second.get()) : nullptr;
  const std::string& name = kids[i].first;
  if (name.rfind("bn", 0) != 0) return nullptr;
  const std::string conv_name = "conv" + name.substr(2);
  for (const auto& [n, m] : kids)
    if (n == conv_name) return dynamic_cast<nn::Conv2d*>(m.get());
  return nullptr;
}

void rewrite(nn::Module& m, InferenceReport& report) {
  std::vector<std::string> to_identity;
  {
    const Children kids = m.named_children();  // copies; released before replace_child
    for (size_t i = 0; i < kids.size(); ++i) {
      nn::Module* child = kids[i].second.get();
      if (dynamic_cast<nn::Dropout*>(child)) {
        to_identity.push_back(kids[i].first);
        ++report.dropouts_removed;
      } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(child)) {
        nn::Conv2d* conv = producer(m, kids, i);
        if (!conv) {
          ++report.batchnorms_kept;
          continue;
        }
        conv->fold_batchnorm(*bn);
        to_identity.push_back(kids[i].first);
        ++report.batchnorms_folded;
      }
    }
  }
  for (const std::string& name : to_identity) {
    auto identity = nn::make<nn::Identity>();
    identity->eval();
    m.replace_child(name, identity);
  }
  for (const auto& [name, child] : m.named_children()) rewrite(*child, report);
}

}  // namespace

InferenceReport prepare_for_inference(nn::Module& model) {
  model.eval();
  model.set_requires_grad(false);
  InferenceReport report;
  if (auto* aux = dynamic_cast<AuxClassifiers*>(&model)) {
    aux->remove_aux_classifiers();
    report.aux_classifiers_removed = true;
  }
  rewrite(model, report);
  return report;
}

}  // namespace hemo::models
