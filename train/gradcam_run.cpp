#include "train/gradcam_run.h"

#include <algorithm>
#include <cmath>

#include "data/decode.h"
#include "data/resize.h"
#include "models/model_file.h"
#include "models/registry.h"
#include "nn/gradcam.h"
#include "nn/ops_gradcam.h"

namespace hemo::train {

namespace {
std::vector<float> softmax(const double* logits, int64_t k) {
  const double top = *std::max_element(logits, logits + k);
  std::vector<float> p(static_cast<size_t>(k));
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(logits[j] - top);
  for (int64_t j = 0; j < k; ++j) p[static_cast<size_t>(j)] = static_cast<float>(std::exp(logits[j] - top) / sum);
  return p;
}

int round_to_int(double v) { return static_cast<int>(std::lround(v)); }
}  // namespace

std::string cam_layer(const weights::ModelMeta& meta, const CamSettings& settings) {
  return settings.layer.empty() ? models::model_spec(meta.architecture).gradcam_layer : settings.layer;
}

data::Image overlay_on_original(const data::Image& original, const Tensor& low_res, const data::TransformSpec& eval,
                                Colormap cmap, float alpha) {
  HEMO_CHECK(low_res.dim() == 2 && low_res.device().is_cpu(), "overlay: the map must be a CPU [h, w] tensor, got ",
             low_res.str());
  const data::SourceBox box = data::eval_source_box(eval, original.width, original.height);
  const int bx = round_to_int(box.x), by = round_to_int(box.y);
  const int bw = std::max(1, round_to_int(box.w)), bh = std::max(1, round_to_int(box.h));
  // The map over the whole box (which may reach past the image where the crop padded), then the
  // part inside the image is pasted back.
  const Tensor heat = nn::resize_bilinear(low_res.reshape({1, low_res.size(0), low_res.size(1)}), bh, bw);
  const data::Image region = data::crop(original, bx, by, bw, bh);
  const std::vector<uint8_t> blended = nn::cam_overlay(cmap, heat, region.rgb, alpha);
  data::Image out = original;
  const int x0 = std::max(bx, 0), x1 = std::min(bx + bw, original.width);
  const int y0 = std::max(by, 0), y1 = std::min(by + bh, original.height);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const uint8_t* src = blended.data() + (static_cast<size_t>(y - by) * static_cast<size_t>(bw) + (x - bx)) * 3;
      std::copy(src, src + 3, out.at(x, y));
    }
  return out;
}

void explain_images(nn::Module& model, const weights::ModelMeta& meta, const std::vector<CamInput>& images,
                    const CamSettings& settings, Device device, const std::function<void(CamImage&)>& sink,
                    const std::function<void(const data::Skipped&)>& on_skip) {
  HEMO_CHECK(settings.batch_size >= 1, "gradcam: the batch size must be at least 1, got ", settings.batch_size);
  HEMO_CHECK(settings.target_class < meta.num_classes, "gradcam: class ", settings.target_class,
             " is out of range (the model has ", meta.num_classes, " classes)");
  const data::TransformSpec tf = data::TransformSpec::eval(meta.input_size, meta.mean, meta.std);
  const int64_t s = meta.input_size, per_image = static_cast<int64_t>(tf.output_floats());
  nn::GradCamOptions opt;
  opt.method = settings.method;
  opt.layer = cam_layer(meta, settings);
  const bool was_training = model.is_training();
  model.eval();
  data::Rng rng(0);  // the evaluation transform draws nothing
  const size_t batch = static_cast<size_t>(settings.batch_size);
  for (size_t next = 0; next < images.size();) {
    // The batch: the next images that load (those that do not are skipped when on_skip is set).
    std::vector<const CamInput*> in;
    std::vector<data::Image> originals;
    std::vector<float> input(batch * static_cast<size_t>(per_image));
    for (; next < images.size() && in.size() < batch; ++next) {
      data::Image img;
      try {
        img = data::load_image(images[next].path);
        data::transform_into(tf, img, rng,
                             std::span<float>(input.data() + in.size() * static_cast<size_t>(per_image),
                                              static_cast<size_t>(per_image)));
      } catch (const Error& e) {
        if (!on_skip) throw;
        on_skip({images[next].path, e.what()});
        continue;
      }
      in.push_back(&images[next]);
      originals.push_back(std::move(img));
    }
    const size_t n = in.size();
    if (n == 0) break;  // the last images were all skipped
    input.resize(n * static_cast<size_t>(per_image));
    opt.classes.assign(settings.target_class >= 0 ? n : 0, settings.target_class);
    Tensor x = Tensor::from_vector(input, {static_cast<int64_t>(n), 3, s, s}).to(device);
    if (settings.channels_last) x = x.to(MemoryFormat::channels_last);
    const nn::GradCamResult r = nn::grad_cam(model, x, opt);
    const std::vector<double> logits = r.logits.to(Device::cpu()).to_vector<double>();
    const Tensor low_res = r.low_res.to(Device::cpu());
    const std::vector<float> maps = r.maps.to(Device::cpu()).to_vector<float>();
    const int64_t k = r.logits.size(1), h = low_res.size(1), w = low_res.size(2);
    const std::vector<float> low = low_res.to_vector<float>();
    for (size_t i = 0; i < n; ++i) {
      CamImage out;
      out.path = in[i]->path;
      out.truth = in[i]->truth;
      out.probabilities = softmax(logits.data() + static_cast<int64_t>(i) * k, k);
      out.predicted = std::max_element(out.probabilities.begin(), out.probabilities.end()) - out.probabilities.begin();
      out.explained = r.classes[i];
      const std::vector<float> mine(low.begin() + static_cast<int64_t>(i) * h * w,
                                    low.begin() + static_cast<int64_t>(i + 1) * h * w);
      out.overlay = overlay_on_original(originals[i], Tensor::from_vector(mine, {h, w}), tf, settings.colormap,
                                        settings.alpha);
      out.size = s;
      out.map16.resize(static_cast<size_t>(s * s));
      for (size_t p = 0; p < out.map16.size(); ++p) {
        const float v = std::clamp(maps[i * out.map16.size() + p], 0.f, 1.f);
        out.map16[p] = static_cast<uint16_t>(std::lround(v * 65535.0));
      }
      sink(out);
    }
  }
  model.train(was_training);
}

}  // namespace hemo::train
