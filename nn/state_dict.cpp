#include "nn/state_dict.h"

#include <map>

namespace hemo::nn {

namespace {
bool under(const std::string& name, const std::string& prefix) {
  return !prefix.empty() && (name == prefix || name.rfind(prefix + ".", 0) == 0);
}
}  // namespace

LoadReport load_state_dict(Module& module, const std::vector<NamedTensor>& tensors, LoadMode mode,
                           const std::string& head) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [n, t] : tensors) given[n] = &t;

  LoadReport report;
  std::vector<std::string> missing, mismatched, unexpected;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  std::map<std::string, bool> known;
  for (auto& [name, dst] : module.state_dict()) {
    known[name] = true;
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    const Tensor& src = *it->second;
    if (src.shape() != dst.shape()) {
      if (mode == LoadMode::transfer && under(name, head)) {
        report.reinitialized.push_back(name);
      } else {
        mismatched.push_back(cat(name, " (file ", shape_str(src.shape()), ", model ", shape_str(dst.shape()), ")"));
      }
      continue;
    }
    copies.emplace_back(dst, &src);
    report.loaded.push_back(name);
  }
  for (const auto& [n, t] : tensors)
    if (!known.count(n)) unexpected.push_back(n);

  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::string msg = cat("load_state_dict into ", module.type_name(), ": the tensors do not fit the model");
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg += cat("\n  ", what, " (", names.size(), "):");
      for (size_t i = 0; i < names.size() && i < 20; ++i) msg += "\n    " + names[i];
      if (names.size() > 20) msg += cat("\n    ... and ", names.size() - 20, " more");
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("shape mismatches", mismatched);
    if (mode == LoadMode::strict && !mismatched.empty())
      msg += "\n  (to load all but a classifier of another class count, use the transfer mode)";
    throw Error(msg);
  }
  for (auto& [dst, src] : copies) {
    Tensor value = src->dtype() == dst.dtype() ? *src : src->detach().to(dst.dtype());
    copy_bytes(dst.raw(), dst.device(), value.raw(), value.device(), dst.nbytes());
  }
  return report;
}

void freeze_backbone(Module& module, const std::string& head) {
  Module* h = module.find(head);
  HEMO_CHECK(h != nullptr, "freeze_backbone: the model has no module named '", head, "'");
  module.set_requires_grad(false);
  h->set_requires_grad(true);
}

}  // namespace hemo::nn
