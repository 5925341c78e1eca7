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

namespace {
// Image path -> its [1, 3, S, S] float32 input on the host.
Tensor host_input(const InferenceModel& model, const std::string& image_path) {
  const data::Image image = data::load_image(image_path);
  const int64_t side = model.transform.size;
  Tensor x = Tensor::empty({1, 3, side, side});
  data::Rng unused(0);  // the evaluation transform draws nothing
  data::transform_into(model.transform, image, unused,
                       std::span<float>(x.data<float>(), static_cast<size_t>(x.numel())));
  return x;
}
}  // namespace

Tensor image_input(const InferenceModel& model, const std::string& image_path) {
  return input_for(model, host_input(model, image_path));
}

Tensor input_for(const InferenceModel& model, const Tensor& batch) {
  const Tensor x = model.device.is_cpu() ? batch : batch.to(model.device);
  return model.format == MemoryFormat::channels_last ? x.to(MemoryFormat::channels_last) : x;
}

std::vector<float> classify(InferenceModel& model, const std::string& image_path, data::Tta tta) {
  const Tensor image = host_input(model, image_path);
  NoGradGuard no_grad;  // belt and braces: no parameter requires grad either
  const int views = data::tta_views(tta);
  if (views == 1) return nn::softmax((*model.module)(input_for(model, image)), -1).to_vector<float>();
  const int64_t side = image.size(2), plane = 3 * side * side;
  Tensor batch = Tensor::empty({views, 3, side, side});
  for (int v = 0; v < views; ++v)
    data::dihedral_view(image.data<float>(), 1, 3, side, side, v, batch.data<float>() + v * plane);
  const std::vector<float> p = nn::softmax((*model.module)(input_for(model, batch)), -1).to_vector<float>();
  const size_t k = p.size() / static_cast<size_t>(views);
  std::vector<float> mean(k);
  for (size_t c = 0; c < k; ++c) {
    double sum = 0;
    for (size_t v = 0; v < static_cast<size_t>(views); ++v) sum += p[v * k + c];
    mean[c] = static_cast<float>(sum / views);
  }
  return mean;
}

}  // namespace hemo::infer
