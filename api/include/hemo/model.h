// Load a hemo model file and run it: the public C++ API for programs that embed hemo
// (installed as <hemo/model.h>; find_package(hemo) and link hemo::infer, or hemo::hemo for the
// CUDA build). The other headers: <hemo/preprocess.h> turns an image file into the model's
// input, <hemo/topk.h> reads the most probable classes, <hemo/hemo.h> includes them all.
//
//   hemo::Model model("best.safetensors");                      // throws std::runtime_error
//   std::vector<float> x = hemo::preprocess(model.info(), "cell.jpg");
//   std::vector<float> p = model.probabilities(x);              // batch of 1
//   for (const hemo::ClassScore& c : hemo::top_k(p, model.info().class_names, 3)) ...
//
// A model file is a safetensors file written by hemo (a `hemo train` checkpoint, or torchvision
// weights converted by tools/convert_torchvision.py) whose metadata names the architecture, the
// classes, the input size and the normalization. Loading builds that architecture, loads every
// tensor strictly and prepares it for inference (batch norms folded into the convolutions,
// dropouts removed, no autograd state): exactly what `hemo-infer` runs, so both agree.
// A Model is not safe to run from two threads at once; load one per thread.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

namespace hemo {

// What a model file says about itself.
struct ModelInfo {
  std::string path;
  std::string architecture;             // "resnet18", "pbcnet7", ... (`hemo info` lists them)
  std::vector<std::string> class_names; // the model's outputs, in order
  int input_size = 0;                   // the square input side, in pixels
  std::array<float, 3> mean{}, std{};   // per-channel normalization of RGB in [0, 1]
};

struct LoadOptions {
  std::string device = "cpu";  // "cpu", "cuda" (hemo::hemo of a CUDA build) or "auto"
  bool fold_batchnorm = true;  // false keeps the batch norms as separate layers (for checking)
  bool channels_last = false;  // store the activations NHWC (the same outputs up to rounding)
};

class Model {
 public:
  // Throws std::runtime_error whose message starts with the path and says what is wrong: no such
  // file, not a safetensors file (or a damaged one), not a hemo model file (metadata missing), an
  // architecture this build does not know, tensors missing or of the wrong shape.
  explicit Model(const std::string& path, const LoadOptions& options = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelInfo& info() const;
  int num_classes() const { return static_cast<int>(info().class_names.size()); }

  // input: `batch` images of [3, input_size, input_size] float32, one after the other (as
  // hemo::preprocess makes them). Returns batch x num_classes values, row by row. Throws
  // std::invalid_argument when input.size() is not batch * 3 * input_size^2.
  std::vector<float> logits(const std::vector<float>& input, int batch = 1);
  std::vector<float> probabilities(const std::vector<float>& input, int batch = 1);  // softmax per row

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hemo
