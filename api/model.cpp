// hemo::Model (hemo/model.h): a thin face over the deploy loader of api/inference_model.h, so
// that an embedding program and hemo-infer load and run a model file the same way.
#include "hemo/model.h"

#include <stdexcept>

#include "api/inference_model.h"
#include "core/storage.h"
#include "nn/ops_softmax.h"
#include "tensor/autograd.h"

namespace hemo {

struct Model::Impl {
  infer::InferenceModel model;
  ModelInfo info;
};

Model::Model(const std::string& path, const LoadOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->model = infer::load_inference_model(path, resolve_device(options.device), options.fold_batchnorm);
  if (options.channels_last) impl_->model.format = MemoryFormat::channels_last;
  const weights::ModelMeta& meta = impl_->model.meta;
  ModelInfo& info = impl_->info;
  info.path = path;
  info.architecture = meta.architecture;
  info.class_names = meta.class_names;
  info.input_size = static_cast<int>(meta.input_size);
  for (size_t k = 0; k < 3; ++k) {
    info.mean[k] = static_cast<float>(meta.mean[k]);
    info.std[k] = static_cast<float>(meta.std[k]);
  }
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelInfo& Model::info() const { return impl_->info; }

namespace {
Tensor run(infer::InferenceModel& m, const ModelInfo& info, const std::vector<float>& input, int batch, bool softmax) {
  const int64_t side = info.input_size;
  const int64_t per_image = 3 * side * side;
  if (batch < 1 || static_cast<int64_t>(input.size()) != batch * per_image)
    throw std::invalid_argument(cat(info.path, ": input holds ", input.size(), " values, not ", batch, " x 3 x ", side,
                                    " x ", side, " (batch ", batch, ")"));
  const Tensor x = infer::input_for(m, Tensor::from_vector(input, {batch, 3, side, side}));
  NoGradGuard no_grad;
  Tensor y = (*m.module)(x);
  return softmax ? nn::softmax(y, -1) : y;
}
}  // namespace

std::vector<float> Model::logits(const std::vector<float>& input, int batch) {
  return run(impl_->model, impl_->info, input, batch, false).to_vector<float>();
}

std::vector<float> Model::probabilities(const std::vector<float>& input, int batch) {
  return run(impl_->model, impl_->info, input, batch, true).to_vector<float>();
}

}  // namespace hemo
