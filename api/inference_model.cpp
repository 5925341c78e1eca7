#include "api/inference_model.h"

#include "data/decode.h"
#include "models/model_file.h"
#include "nn/ops_softmax.h"
#include "tensor/autograd.h"

namespace hemo::infer {

InferenceModel load_inference_model(const std::string& path, Device device, bool fold) {
  InferenceModel m;
  m.path = path;
  m.device = device;
  const models::ModelFile file = models::read_model_file(path);
  m.meta = file.meta;
  try {
    models::model_spec(m.meta.architecture);
  } catch (const Error& e) {
    throw Error(cat(path, ": the architecture is not one this hemo-infer can build: ", e.what()));
  }
  models::BuiltModel built = models::build_model(file, device, fold ? models::Prepare::fold : models::Prepare::frozen);
  m.module = std::move(built.module);
  m.report = built.report;
  m.transform = data::TransformSpec::eval(m.meta.input_size, m.meta.mean, m.meta.std);
  return m;
}

Tensor image_input(const InferenceModel& model, const std::string& image_path) {
  const data::Image image = data::load_image(image_path);
  const int64_t side = model.transform.size;
  Tensor x = Tensor::empty({1, 3, side, side});
  data::Rng unused(0);  // the evaluation transform draws nothing
  data::transform_into(model.transform, image, unused,
                       std::span<float>(x.data<float>(), static_cast<size_t>(x.numel())));
  return input_for(model, x);
}

Tensor input_for(const InferenceModel& model, const Tensor& batch) {
  const Tensor x = model.device.is_cpu() ? batch : batch.to(model.device);
  return model.format == MemoryFormat::channels_last ? x.to(MemoryFormat::channels_last) : x;
}

std::vector<float> classify(InferenceModel& model, const std::string& image_path) {
  const Tensor x = image_input(model, image_path);
  NoGradGuard no_grad;  // belt and braces: no parameter requires grad either
  const Tensor probs = nn::softmax((*model.module)(x), -1);
  return probs.to_vector<float>();
}

}  // namespace hemo::infer
