// hemo::preprocess (hemo/preprocess.h): data/'s decoder and evaluation transform, with the model
// file's input size, mean and std.
#include "hemo/preprocess.h"

#include <span>

#include "data/decode.h"
#include "data/transforms.h"

namespace hemo {

std::vector<float> preprocess(const ModelInfo& info, const std::string& image_path) {
  data::TransformSpec spec = data::TransformSpec::eval(info.input_size);
  for (size_t k = 0; k < 3; ++k) {
    spec.mean[k] = info.mean[k];
    spec.std[k] = info.std[k];
  }
  const data::Image image = data::load_image(image_path);
  std::vector<float> out(3 * static_cast<size_t>(info.input_size) * static_cast<size_t>(info.input_size));
  data::Rng unused(0);  // the evaluation transform draws nothing
  data::transform_into(spec, image, unused, std::span<float>(out));
  return out;
}

}  // namespace hemo
