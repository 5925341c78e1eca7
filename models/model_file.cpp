#include "models/model_file.h"

#include <cmath>

#include "nn/state_dict.h"
#include "weights/safetensors.h"

namespace hemo::models {

namespace {
// A model tensor holding NaN or infinity (a damaged file, or a diverged run saved by another tool)
// would only ever predict NaN: refused at once, naming the tensor.
Tensor finite_or_error(Tensor t, const std::string& name, const std::string& path) {
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    HEMO_CHECK(std::isfinite(p[i]), path, ": tensor '", name, "' holds ", p[i], " at element ", i,
               " (a model file must hold finite numbers; it is damaged, or saved from a diverged run)");
  return t;
}
}  // namespace

ModelFile read_model_file(const std::string& path, WithOptimizer optimizer) {
  safetensors::File file = [&] {
    try {
      return safetensors::File::load(path);
    } catch (const safetensors::FormatError& e) {
      throw Error(cat(e.what(), " (not a safetensors model file, or a damaged one)"));
    }  // an I/O Error already names the path and errno's text
  }();
  ModelFile m;
  m.path = path;
  m.metadata = file.metadata();
  m.meta = weights::ModelMeta::from_metadata(m.metadata, path);
  const std::string prefix = kOptimizerPrefix;
  for (const auto& info : file.tensors()) {
    if (info.name.rfind(prefix, 0) != 0)
      m.model.emplace_back(info.name, finite_or_error(weights::to_tensor(file, info.name), info.name, path));
    else if (optimizer == WithOptimizer::yes)
      m.optimizer.emplace_back(info.name.substr(prefix.size()), weights::to_tensor(file, info.name));
  }
  return m;
}

ModelOptions model_options(const weights::ModelMeta& meta) {
  ModelOptions opt;
  opt.input_size = meta.input_size;
  opt.pool_stride = meta.pool_stride;
  opt.init_weights = false;  // every tensor is loaded next, strictly
  return opt;
}

BuiltModel build_model(const ModelFile& file, Device device, Prepare prepare) {
  HEMO_CHECK(file.meta.input_size > 0, file.path, ": metadata input_size must be positive, got ", file.meta.input_size);
  BuiltModel b;
  Generator gen(0);
  try {
    b.module = create_model(file.meta.architecture, file.meta.num_classes, model_options(file.meta), gen);
    nn::load_state_dict(*b.module, file.model);
  } catch (const Error& e) {
    throw Error(cat(file.path, ": ", e.what()));
  }
  if (prepare == Prepare::fold) {
    b.report = prepare_for_inference(*b.module);
  } else {
    b.module->eval();
    if (prepare == Prepare::frozen) b.module->set_requires_grad(false);
  }
  b.module->to(device);
  return b;
}

}  // namespace hemo::models
