// Grad-CAM and Grad-CAM++ of whole models against PyTorch: for resnet18, mobilenet_v2,
// mobilenet_v3_small, vgg11_bn and pbcnet7 with seeded random weights (converted from PyTorch by
// tools/convert_torchvision.py), hemo's maps at each architecture's default target layer
// (models::ModelSpec::gradcam_layer) must equal tools/gradcam_torch.py's (an autograd
// implementation of the same definition, in float64) to a max absolute difference of 1e-4, for
// the predicted classes and for given ones. tests/models/make_gradcam_refs.py writes the
// references at test time, one Python process for every model.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "models/registry.h"
#include "nn/gradcam.h"
#include "nn/state_dict.h"
#include "weights/tensor_io.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {

struct Model {
  std::string arch;
  int64_t size;
  std::string layer;  // empty: the architecture's default
  std::string name() const {
    std::string n = arch;
    if (!layer.empty()) n += "_" + layer;
    for (char& ch : n)
      if (ch == '.') ch = '-';
    return n;
  }
  std::string target() const { return layer.empty() ? models::model_spec(arch).gradcam_layer : layer; }
};

// 160x160 gives ResNet and MobileNet 5x5 maps; VGG's last ReLU is 8x8 at 128; pbcnet7's default
// (block 5's ReLU) is 4x4 at its 100x100 input, and the override to block 4's ReLU is 7x7.
const std::vector<Model> kModels = {{"resnet18", 160, ""},           {"mobilenet_v2", 160, ""},
                                    {"mobilenet_v3_small", 160, ""}, {"vgg11_bn", 128, ""},
                                    {"pbcnet7", 100, ""},            {"pbcnet7", 100, "features.4.1"}};
const fs::path kDir = fs::path(HEMO_TEST_WORK_DIR) / "gradcam";

// One Python run writes every model's case (torch starts once).
void generate_once() {
  static bool done = false;
  if (done) return;
  fs::create_directories(kDir);
  std::string cmd = cat("'", HEMO_PYTHON, "' '", HEMO_SOURCE_DIR, "/tests/models/make_gradcam_refs.py' '", kDir.string(),
                        "'");
  for (const Model& m : kModels) cmd += cat(" ", m.arch, ":", m.size, ":", m.target(), ":", m.name());
  const fs::path log = kDir / "make_gradcam_refs.log";
  cmd += cat(" > '", log.string(), "' 2>&1");
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = std::system(cmd.c_str());
  REQUIRE_MESSAGE(rc == 0, "make_gradcam_refs.py failed (see ", log.string(), "): ", cmd);
  std::printf("gradcam references: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  done = true;
}

// max |a - b| over all elements; NaN counts as infinite.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), shape_str(a.shape()), " vs ", shape_str(b.shape()));
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(x[i] - y[i]);
    worst = std::max(worst, std::isfinite(d) ? d : INFINITY);
  }
  return worst;
}

std::vector<int64_t> ints(const Tensor& t) {
  std::vector<int64_t> out;
  for (double v : t.to_vector<double>()) out.push_back(static_cast<int64_t>(v));
  return out;
}

// The maps span [0, 1] (a map that is flat would compare trivially): check the reference's.
void check_spans(const Tensor& maps, const std::string& what) {
  const int64_t n = maps.size(0), per = maps.numel() / n;
  const std::vector<double> v = maps.to_vector<double>();
  for (int64_t i = 0; i < n; ++i) {
    const auto [lo, hi] = std::minmax_element(v.begin() + i * per, v.begin() + (i + 1) * per);
    CHECK_MESSAGE(*hi - *lo > 0.5, what, " image ", i, ": the reference map is nearly flat [", *lo, ", ", *hi, "]");
  }
}

void run(const Model& m) {
  INFO("model ", m.name(), " layer ", m.target());
  generate_once();
  const auto t0 = std::chrono::steady_clock::now();
  weights::TensorFile w = weights::load_tensors((kDir / (m.name() + ".weights.safetensors")).string());
  weights::TensorFile ref = weights::load_tensors((kDir / (m.name() + ".ref.safetensors")).string());
  CHECK(ref.metadata.at("layer") == m.target());
  models::ModelOptions opt;
  opt.input_size = m.size;
  opt.dropout = 0;
  opt.init_weights = false;
  Generator gen(3);
  const int64_t classes = ref.find("logits")->size(1);
  nn::ModulePtr model = models::create_model(m.arch, classes, opt, gen);
  nn::load_state_dict(*model, w.tensors);
  model->eval();
  const Tensor& input = *ref.find("input");

  std::string line = cat(m.name(), " at ", m.target(), " (", ref.metadata.at("feature_map"), "), ", input.size(0), "x3x",
                         m.size, "x", m.size, ": max |hemo - torch|");
  bool ok = true;
  std::vector<int64_t> r_classes;  // the predicted ones
  for (CamMethod method : {CamMethod::gradcam, CamMethod::gradcampp}) {
    const std::string key = cam_method_name(method);
    nn::GradCamOptions o;
    o.method = method;
    o.layer = m.target();
    nn::GradCamResult r = nn::grad_cam(*model, input, o);
    REQUIRE(r.classes == ints(*ref.find(key + ".classes")));
    r_classes = r.classes;
    check_spans(*ref.find(key + ".low_res"), key);
    const double low = max_abs_diff(r.low_res, *ref.find(key + ".low_res"));
    const double maps = max_abs_diff(r.maps, *ref.find(key + ".maps"));
    CHECK_MESSAGE(low < 1e-4, key, " low-resolution map: max abs difference ", low);
    CHECK_MESSAGE(maps < 1e-4, key, " map: max abs difference ", maps);
    ok = ok && low < 1e-4 && maps < 1e-4;
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.1e (layer-size map %.1e);", key.c_str(), maps, low);
    line += buf;
  }
  // A class given for each image (not the predicted one).
  nn::GradCamOptions o;
  o.layer = m.target();
  o.classes = ints(*ref.find("given.classes"));
  CHECK(o.classes != r_classes);
  nn::GradCamResult r = nn::grad_cam(*model, input, o);
  check_spans(*ref.find("given.low_res"), "given classes");
  const double given = max_abs_diff(r.maps, *ref.find("given.maps"));
  CHECK_MESSAGE(given < 1e-4, "gradcam for given classes: max abs difference ", given);
  ok = ok && given < 1e-4;
  char buf[96];
  std::snprintf(buf, sizeof buf, " given classes %.1e [%.1f s]", given,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::printf("%s%s\n", line.c_str(), buf);
  std::fflush(stdout);
  // The files are big (VGG's weights: 0.5 GB); keep them only when something failed.
  if (ok) {
    w.tensors.clear();
    fs::remove(kDir / (m.name() + ".weights.safetensors"));
    fs::remove(kDir / (m.name() + ".ref.safetensors"));
  }
}

}  // namespace

TEST_CASE("Grad-CAM parity with PyTorch: resnet18, mobilenet_v2, mobilenet_v3_small, vgg11_bn, pbcnet7") {
  for (const Model& m : kModels) run(m);
}
