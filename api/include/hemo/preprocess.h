// Preprocess an image file the way a hemo model expects it (public API; see <hemo/model.h>).
#pragma once
#include <string>
#include <vector>

#include "hemo/model.h"

namespace hemo {

// Decodes a JPEG, PNG or BMP file and applies the model's evaluation transform, the same code
// `hemo predict`, `hemo-infer` and training's validation run: the shorter side resized to
// info.input_size, the centre square cropped, RGB scaled to [0, 1] and normalized per channel
// with info.mean and info.std. Returns [3, input_size, input_size] float32, channel-major.
// Throws std::runtime_error naming the file when it is missing, unreadable or not an image.
std::vector<float> preprocess(const ModelInfo& info, const std::string& image_path);

}  // namespace hemo
