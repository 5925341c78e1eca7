// `hemo export --onnx` round trip (ctest label `onnx`): for every architecture of the registry, a
// model file with random weights and calibrated batch norms, at the smallest input its pooling
// allows (32 pixels; a few at larger sizes, where the pools really pool), goes through
// `hemo forward` and `hemo export`; tests/onnx/ort_check.py then checks every exported file with
// onnx.checker and ONNX Runtime against hemo forward's logits (relative error < 1e-4). Variants
// cover batch norms kept, a fixed batch of 1, opsets 14 and 18. Then the errors.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/registry.h"
#include "tests/support/model_fixtures.h"
#include "tests/support/random.h"
#include "tests/train/train_test_util.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {

fs::path work_dir() {
  const fs::path p = fs::path(HEMO_TEST_WORK_DIR) / "onnx";
  fs::create_directories(p);
  return p;
}

std::string quote(const std::string& s) { return test::shell_quote(s); }

using Run = test::CommandRun;
Run run(const std::string& cmd) { return test::run_captured(cmd); }

struct Case {
  std::string arch;
  int64_t side = 32, batch = 2, opset = 17;
  bool dynamic = true, keep_batchnorm = false;
  std::string name() const {
    return cat(arch, "@", side, dynamic ? " dynamic-batch" : " batch-1", keep_batchnorm ? " bn-kept" : " bn-folded",
               " opset", opset);
  }
};

weights::ModelMeta meta_for(const Case& c) {
  weights::ModelMeta meta;
  meta.architecture = c.arch;
  meta.num_classes = 5;
  meta.class_names = {"basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil"};
  meta.input_size = c.side;
  meta.mean = {0.87, 0.75, 0.72};
  meta.std = {0.16, 0.19, 0.08};
  return meta;
}

// Writes the model file, the input, hemo forward's logits and the ONNX file; returns the case's
// entry for ort_check.py.
nlohmann::json prepare(const Case& c, size_t index) {
  const fs::path dir = work_dir() / cat(index, "-", c.arch);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const weights::ModelMeta meta = meta_for(c);
  const std::string model_path = (dir / "model.safetensors").string(), input = (dir / "input.safetensors").string(),
                    logits = (dir / "logits.safetensors").string(), onnx = (dir / "model.onnx").string();
  {
    Generator gen(7 + index);
    models::ModelOptions opt;
    opt.input_size = c.side;
    nn::ModulePtr model = models::create_model(c.arch, meta.num_classes, opt, gen);
    test::calibrate_batchnorms(*model, c.side, 11 + index);
    // Random deep nets amplify float rounding (MobileNetV3-Large's logits reach hundreds, and
    // two correct float32 runtimes then differ by 2e-4): smaller batch-norm gains keep the
    // activations of the order of 1, as in a trained model, so 1e-4 measures the export.
    for (auto& [name, m] : model->named_modules())
      if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m))
        for (int64_t i = 0; i < bn->weight.numel(); ++i) bn->weight.data<float>()[i] *= 0.6f;
    // ConvNeXt's layer scales start at 1e-6, which would leave every block (its GELU, its Linears
    // over the channels, the scale itself) invisible beside the skip path: 0.2 makes them count.
    for (auto& [name, t] : model->named_parameters())
      if (name.size() >= 11 && name.compare(name.size() - 11, 11, "layer_scale") == 0)
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.2f;
    weights::save_tensors(model_path, model->state_dict(), meta.to_metadata());
  }
  weights::save_tensors(input, {{"input", test::random_tensor({c.batch, 3, c.side, c.side}, 5 + index, DType::f32)}});
  const Run fwd = run(quote(HEMO_BIN) + " forward --model " + c.arch + " --weights " + quote(model_path) + " --input " +
                      quote(input) + " --output " + quote(logits));
  REQUIRE_MESSAGE(fwd.status == 0, c.name(), ": hemo forward: ", fwd.err);
  std::string args = " export --onnx " + quote(onnx) + " --checkpoint " + quote(model_path) + " --opset " +
                     std::to_string(c.opset);
  if (c.dynamic) args += " --dynamic-batch";
  if (c.keep_batchnorm) args += " --keep-batchnorm";
  const Run exp = run(quote(HEMO_BIN) + args);
  REQUIRE_MESSAGE(exp.status == 0, c.name(), ": hemo export: ", exp.err);
  CHECK(exp.out.find("hemo export: " + c.arch) != std::string::npos);
  return {{"name", c.name()},
          {"onnx", onnx},
          {"input", input},
          {"logits", logits},
          {"batch", c.batch},
          {"dynamic", c.dynamic},
          {"opset", c.opset},
          {"meta",
           {{"architecture", c.arch},
            {"num_classes", "5"},
            {"input_size", std::to_string(c.side)},
            // DenseNet's pre-activation batch norms follow no convolution: they stay as nodes.
            {"batchnorm", c.keep_batchnorm || models::model_spec(c.arch).family == "densenet"
                              ? "kept"
                              : "folded into the convolutions (or none)"},
            {"class_names", nlohmann::json(meta.class_names).dump()}}}};
}

}  // namespace

TEST_CASE("hemo export --onnx: every architecture loads in ONNX Runtime, passes onnx.checker, same logits") {
  REQUIRE_MESSAGE(fs::exists(HEMO_ONNX_PYTHON), HEMO_ONNX_PYTHON,
                  " is missing: tools/install-deps.sh makes this venv (PyPI onnx and onnxruntime, test only)");
  std::vector<Case> cases;
  for (const std::string& arch : models::model_names()) {
    Case c{arch};
    if (arch == "alexnet") c.side = 64;  // its smallest input is 63 (an 11x11/4 stem and three 3/2 pools)
    // Inception-v3: 299, where its auxiliary head fits the calibrating training-mode forward.
    if (arch == "inception_v3") c.side = 299;
    cases.push_back(c);
  }
  auto variant = [&](const std::string& arch, int64_t side, bool dynamic, bool keep_bn, int64_t opset) {
    Case c{arch, side, dynamic ? 2 : 1, opset, dynamic, keep_bn};
    cases.push_back(c);
  };
  variant("resnet18", 64, true, true, 17);             // batch norms kept; 2x2 before the global pool
  variant("vgg11_bn", 64, true, true, 17);             // 2x2 features -> VGG's 7x7 adaptive pool, overlapping bins
  variant("mobilenet_v3_small", 64, true, true, 14);   // the lowest opset (HardSwish)
  variant("mobilenet_v2", 32, false, false, 18);       // fixed batch 1, the highest opset
  variant("pbcnet7", 40, false, false, 17);            // ceil-mode pools on odd sides (40 -> 20 -> 10 -> 5 -> 3 -> 2 -> 1)
  // HEMO_ONNX_ARCHS=a,b (for working on the exporter) narrows the run to those architectures.
  if (const char* only = std::getenv("HEMO_ONNX_ARCHS")) {
    const std::string list = cat(",", only, ",");
    std::erase_if(cases, [&](const Case& c) { return list.find("," + c.arch + ",") == std::string::npos; });
  }
  // One case at a time, its files removed once it passes: VGG's model and ONNX files are 0.5 GB each.
  for (size_t i = 0; i < cases.size(); ++i) {
    const nlohmann::json entry = prepare(cases[i], i);
    const fs::path list = work_dir() / cat(i, "-", cases[i].arch) / "case.json";
    std::ofstream(list) << nlohmann::json::array({entry}).dump(1);
    const Run check = run(quote(HEMO_ONNX_PYTHON) + " " + quote(HEMO_SOURCE_DIR "/tests/onnx/ort_check.py") + " " +
                          quote(list.string()));
    MESSAGE(check.out);
    CHECK_MESSAGE(check.status == 0, check.out, check.err);
    const bool ok = check.out.find("onnx round trip: 1 passed, 0 failed") != std::string::npos;
    CHECK(ok);
    if (ok) fs::remove_all(list.parent_path());
  }
}

TEST_CASE("hemo export: errors name the file and the problem") {
  const Case c{"pbcnet7"};
  const fs::path dir = work_dir() / "errors";
  fs::create_directories(dir);
  const std::string model = (dir / "model.safetensors").string();
  {
    Generator gen(1);
    models::ModelOptions opt;
    opt.input_size = 32;
    weights::save_tensors(model, models::create_model("pbcnet7", 5, opt, gen)->state_dict(), meta_for(c).to_metadata());
  }
  const std::string hemo = quote(HEMO_BIN) + " export --onnx ";
  SUBCASE("unwritable output") {
    const Run r = run(hemo + quote((dir / "no-such-dir" / "m.onnx").string()) + " --checkpoint " + quote(model));
    CHECK(r.status == 1);
    CHECK(r.err.find((dir / "no-such-dir" / "m.onnx").string() + ": cannot write the ONNX file") != std::string::npos);
  }
  SUBCASE("not a model file") {
    const std::string bogus = (dir / "bogus.safetensors").string();
    std::ofstream(bogus) << "not a safetensors file at all";
    const Run r = run(hemo + quote((dir / "m.onnx").string()) + " --checkpoint " + quote(bogus));
    CHECK(r.status == 1);
    CHECK(r.err.find(bogus + ": ") != std::string::npos);
    CHECK(r.err.find("not a safetensors model file") != std::string::npos);
  }
  SUBCASE("unsupported architecture") {
    weights::ModelMeta meta = meta_for(c);
    meta.architecture = "lenet5";
    const std::string odd = (dir / "lenet5.safetensors").string();
    Generator gen(1);
    models::ModelOptions opt;
    opt.input_size = 32;
    weights::save_tensors(odd, models::create_model("pbcnet7", 5, opt, gen)->state_dict(), meta.to_metadata());
    const Run r = run(hemo + quote((dir / "m.onnx").string()) + " --checkpoint " + quote(odd));
    CHECK(r.status == 1);
    CHECK(r.err.find(odd + ": the architecture is not one") != std::string::npos);
  }
  SUBCASE("unsupported opset") {
    const Run r = run(hemo + quote((dir / "m.onnx").string()) + " --checkpoint " + quote(model) + " --opset 11");
    CHECK(r.status != 0);
    CHECK(r.err.find("--opset") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir / "m.onnx"));
}
