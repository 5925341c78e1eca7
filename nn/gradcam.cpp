#include "nn/gradcam.h"

#include <utility>

#include "nn/ops_gradcam.h"
#include "tensor/autograd.h"

namespace hemo::nn {

namespace {
// Freezes every parameter of a model for its lifetime and restores each one's flag after.
class FreezeParameters {
 public:
  explicit FreezeParameters(const Module& model) {
    for (auto& [name, p] : model.named_parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FreezeParameters() {
    for (auto& [p, flag] : saved_) p.requires_grad_(flag);
  }
  FreezeParameters(const FreezeParameters&) = delete;
  FreezeParameters& operator=(const FreezeParameters&) = delete;

 private:
  std::vector<std::pair<Tensor, bool>> saved_;
};

// A forward hook on `target` that keeps its latest output and makes it the leaf the backward
// stops at; removed when this goes out of scope.
class CaptureOutput {
 public:
  explicit CaptureOutput(Module& target) : target_(target) {
    id_ = target.register_forward_hook([this](Module&, const Tensor& out) {
      Tensor leaf = out;  // the same tensor (a handle): the flag is seen by the layers above
      if (leaf.is_leaf())
        leaf.requires_grad_(true);
      else if (leaf.requires_grad())
        leaf.retain_grad();  // only when something below the target still requires grad
      output_ = leaf;
      ++calls_;
    });
  }
  ~CaptureOutput() { target_.remove_forward_hook(id_); }
  CaptureOutput(const CaptureOutput&) = delete;
  CaptureOutput& operator=(const CaptureOutput&) = delete;

  const Tensor& output() const { return output_; }
  int calls() const { return calls_; }

 private:
  Module& target_;
  size_t id_ = 0;
  Tensor output_;
  int calls_ = 0;
};

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const int64_t n = logits.size(0), k = logits.size(1);
  const std::vector<double> v = logits.to(Device::cpu()).to_vector<double>();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (v[static_cast<size_t>(i * k + j)] > v[static_cast<size_t>(i * k + best)]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}
}  // namespace

GradCamResult grad_cam(Module& model, const Tensor& input, const GradCamOptions& options) {
  const std::string& name = options.layer;
  HEMO_CHECK(!name.empty(), "grad_cam: no target layer given");
  Module* target = model.find(name);
  HEMO_CHECK(target != nullptr, "grad_cam: the model has no module named '", name, "'");
  HEMO_CHECK(!model.is_training(), "grad_cam: the model is in training mode; call eval() first (batch norm and "
                                   "dropout would mix the images of the batch)");
  HEMO_CHECK(input.defined() && input.dim() == 4, "grad_cam: the input must be [N, C, H, W], got ",
             input.defined() ? input.str() : std::string("an undefined tensor"));
  HEMO_CHECK(grad_enabled(), "grad_cam: gradient recording is off (a NoGradGuard is alive)");

  GradCamResult r;
  Tensor logits;
  Tensor act;
  {
    FreezeParameters frozen(model);
    CaptureOutput capture(*target);
    logits = model(input.detach());
    HEMO_CHECK(capture.calls() == 1, "grad_cam: layer '", name, "' ran ", capture.calls(),
               " times in the forward pass (need exactly once)");
    act = capture.output();
    HEMO_CHECK(act.dim() == 4, "grad_cam: layer '", name, "' outputs ", act.str(),
               "; Grad-CAM needs a convolutional feature map [N, C, h, w]");
    HEMO_CHECK(logits.dim() == 2 && logits.size(0) == input.size(0), "grad_cam: the model's output ", logits.str(),
               " is not [N, classes] for ", input.size(0), " images");
    HEMO_CHECK(logits.requires_grad(), "grad_cam: the model's output does not depend on layer '", name, "'");

    const int64_t n = logits.size(0), k = logits.size(1);
    r.classes = options.classes.empty() ? argmax_rows(logits) : options.classes;
    HEMO_CHECK(static_cast<int64_t>(r.classes.size()) == n, "grad_cam: ", r.classes.size(), " classes given for ", n,
               " images");
    // The gradient of sum_n logits[n, class_n]: a one-hot seed, row by row.
    std::vector<double> seed(static_cast<size_t>(n * k), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = r.classes[static_cast<size_t>(i)];
      HEMO_CHECK(c >= 0 && c < k, "grad_cam: class ", c, " for image ", i, " is out of range (the model has ", k,
                 " classes)");
      seed[static_cast<size_t>(i * k + c)] = 1.0;
    }
    logits.backward(Tensor::from_vector(seed, {n, k}).to(logits.dtype()).to(logits.device()));
  }
  HEMO_CHECK(act.grad().defined(), "grad_cam: no gradient reached layer '", name, "'");
  r.logits = logits.detach();
  r.activations = act.detach();
  r.gradients = act.grad();
  r.weights = cam_weights(options.method, r.activations, r.gradients);
  r.low_res = cam_normalize(cam_weighted_sum_relu(r.activations, r.weights));
  const int64_t out_h = options.out_h > 0 ? options.out_h : input.size(2);
  const int64_t out_w = options.out_w > 0 ? options.out_w : input.size(3);
  r.maps = resize_bilinear(r.low_res, out_h, out_w);
  return r;
}

}  // namespace hemo::nn
