// Grad-CAM over image files, for `hemo gradcam` and the gallery of report.html: each image is
// decoded, put through the model's evaluation transform (the checkpoint's input size, mean and
// std), explained in batches by nn::grad_cam (nn/gradcam.h), and its map drawn over the ORIGINAL
// image: the map covers the part of the image the evaluation crop kept (data::eval_source_box),
// resized there from the layer's resolution in one bilinear step, coloured and blended
// (kernels/gradcam.h). The raw map is also kept at the model's input size.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_folder.h"
#include "data/transforms.h"
#include "kernels/gradcam.h"
#include "nn/module.h"
#include "weights/model_meta.h"

namespace hemo::train {

struct CamSettings {
  CamMethod method = CamMethod::gradcam;
  std::string layer;          // "": the architecture's default (models::ModelSpec::gradcam_layer)
  int64_t target_class = -1;  // -1: explain each image's predicted class
  Colormap colormap = Colormap::jet;
  float alpha = 0.5f;         // weight of the colour in the overlay
  int batch_size = 8;
  bool channels_last = false;  // the batch stored channels-last (tensor/tensor.h, MemoryFormat)
};

struct CamInput {
  std::string path;
  int64_t truth = -1;  // the true class when known, else -1
};

struct CamImage {
  std::string path;
  int64_t truth = -1;
  int64_t predicted = 0, explained = 0;
  std::vector<float> probabilities;  // softmax of the logits
  data::Image overlay;               // the heatmap over the original image, at the original size
  int64_t size = 0;                  // the model's input side
  std::vector<uint16_t> map16;       // the map at size x size, 0..65535 for 0..1, rows top to bottom
};

// The layer Grad-CAM uses: settings.layer, or the architecture's default.
std::string cam_layer(const weights::ModelMeta& meta, const CamSettings& settings);

// Explains `images` with `model` (on `device`, in eval mode) and calls `sink` once per image, in
// order. Errors name the file (unreadable image) or the setting (unknown layer, class). With
// `on_skip`, an image that cannot be loaded (unreadable, corrupt) is reported there instead and
// left out: `sink` is called for the others.
void explain_images(nn::Module& model, const weights::ModelMeta& meta, const std::vector<CamInput>& images,
                    const CamSettings& settings, Device device, const std::function<void(CamImage&)>& sink,
                    const std::function<void(const data::Skipped&)>& on_skip = {});

// `low_res` [h, w] (a float32 CPU tensor in [0, 1]) drawn over `original`, which `eval` turned
// into the model's input: pixels outside the evaluation crop keep their colour.
data::Image overlay_on_original(const data::Image& original, const Tensor& low_res, const data::TransformSpec& eval,
                                Colormap cmap, float alpha);

}  // namespace hemo::train
