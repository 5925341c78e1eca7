#include "tools/infer/model_file.h"

#include <cstring>
#include <exception>

#include "data/decode.h"
#include "models/registry.h"
#include "nn/ops_softmax.h"
#include "nn/state_dict.h"
#include "tensor/autograd.h"
#include "weights/safetensors.h"
#include "weights/tensor_io.h"

namespace hemo::infer {

namespace {
// train/checkpoint.h stores the optimizer's buffers under this prefix, next to the model's.
constexpr const char* kOptimizerPrefix = "optimizer.";

safetensors::File read_file(const std::string& path) {
  try {
    return safetensors::File::load(path);
  } catch (const safetensors::FormatError& e) {
    throw Error(cat(e.what(), " (not a safetensors model file, or a damaged one)"));
  } catch (const std::exception& e) {  // I/O: the message names the path and errno's text
    throw Error(e.what());
  }
}

models::ModelOptions options_for(const safetensors::File& file, const weights::ModelMeta& meta) {
  models::ModelOptions opt;
  opt.input_size = meta.input_size;
  opt.init_weights = false;  // every tensor is loaded next, strictly
  auto stride = file.metadata().find("pool_stride");  // pbcnet7's, when not the default (hemo forward reads it too)
  if (stride != file.metadata().end()) {
    try {
      opt.pool_stride = std::stoll(stride->second);
    } catch (const std::logic_error&) {
      throw Error(cat(file.origin(), ": metadata pool_stride is not an integer"));
    }
  }
  return opt;
}
}  // namespace

InferenceModel load_inference_model(const std::string& path, Device device, bool fold) {
  InferenceModel m;
  m.path = path;
  m.device = device;
  {
    const safetensors::File file = read_file(path);
    m.meta = weights::ModelMeta::from_metadata(file.metadata(), path);
    try {
      models::model_spec(m.meta.architecture);
    } catch (const Error& e) {
      throw Error(cat(path, ": the architecture is not one this hemo-infer can build: ", e.what()));
    }
    HEMO_CHECK(m.meta.input_size > 0, path, ": metadata input_size must be positive, got ", m.meta.input_size);
    Generator gen(0);
    m.module = models::create_model(m.meta.architecture, m.meta.num_classes, options_for(file, m.meta), gen);
    std::vector<nn::NamedTensor> tensors;
    for (const auto& info : file.tensors())
      if (info.name.rfind(kOptimizerPrefix, 0) != 0)
        tensors.emplace_back(info.name, weights::to_tensor(file, info.name));
    try {
      nn::load_state_dict(*m.module, tensors);
    } catch (const Error& e) {
      throw Error(cat(path, ": ", e.what()));
    }
  }
  if (fold) {
    m.report = models::prepare_for_inference(*m.module);
  } else {
    m.module->eval();
    m.module->set_requires_grad(false);
  }
  m.module->to(device);
  m.transform = data::TransformSpec::eval(static_cast<int>(m.meta.input_size));
  for (size_t k = 0; k < 3; ++k) {
    m.transform.mean[k] = static_cast<float>(m.meta.mean[k]);
    m.transform.std[k] = static_cast<float>(m.meta.std[k]);
  }
  return m;
}

Tensor image_input(const InferenceModel& model, const std::string& image_path) {
  const data::Image image = data::load_image(image_path);
  const int64_t side = model.transform.size;
  Tensor x = Tensor::empty({1, 3, side, side});
  data::Rng unused(0);  // the evaluation transform draws nothing
  data::transform_into(model.transform, image, unused,
                       std::span<float>(x.data<float>(), static_cast<size_t>(x.numel())));
  return model.device.is_cpu() ? x : x.to(model.device);
}

std::vector<float> classify(InferenceModel& model, const std::string& image_path) {
  const Tensor x = image_input(model, image_path);
  NoGradGuard no_grad;  // belt and braces: no parameter requires grad either
  const Tensor probs = nn::softmax((*model.module)(x), -1);
  return probs.to_vector<float>();
}

}  // namespace hemo::infer
