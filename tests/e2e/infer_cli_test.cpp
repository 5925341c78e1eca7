// hemo-infer, the deploy binary, from the outside: what the CPU build links against and its size,
// agreement with the unfolded model computed in-process and with `hemo predict`, the output
// formats, standard input, and the errors for a missing or corrupt model file, an unknown
// architecture and an unreadable image.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "data/decode.h"
#include "data/synth.h"
#include "data/transforms.h"
#include "models/registry.h"
#include "nn/ops_softmax.h"
#include "tensor/autograd.h"
#include "tests/support/model_fixtures.h"
#include "tests/train/train_test_util.h"
#include "weights/model_meta.h"
#include "weights/tensor_io.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {

fs::path work_dir() {
  const fs::path p = fs::path(HEMO_TEST_WORK_DIR) / "infer";
  fs::create_directories(p);
  return p;
}

std::string quote(const std::string& s) { return test::shell_quote(s); }

using Run = test::CommandRun;
Run run(const std::string& cmd) { return test::run_captured(cmd); }

std::string infer_cpu(const std::string& args) { return quote(HEMO_INFER_CPU_BIN) + " " + args; }

// Real PBC images (the first of each class folder, skipping the stray non-image) when ../shared
// is there, else synthetic smears.
const std::vector<std::string>& images() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    fs::path root = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
    if (!fs::is_directory(root)) {
      root = work_dir() / "synth";
      fs::remove_all(root);
      data::synth::generate(root, 1, 72, 5, "jpg", 1);
    }
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root))
      if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& d : dirs) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(d))
        if (e.path().filename().string()[0] != '.') files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      if (!files.empty()) out.push_back(files.front());
    }
    return out;
  }();
  return paths;
}

std::string image_args() {
  std::string s;
  for (const auto& p : images()) {
    s += ' ';  // (" " + quote(p) trips GCC 12's -Wrestrict false positive)
    s += quote(p);
  }
  return s;
}

// A model file of `arch` at `side`, 8 PBC classes, random weights and calibrated batch norms,
// with the (unfolded) model kept for computing the expected probabilities in-process.
struct ModelFile {
  fs::path path;
  nn::ModulePtr model;
  weights::ModelMeta meta;
};

ModelFile make_model_file(const std::string& arch, int64_t side) {
  ModelFile f;
  f.path = work_dir() / (arch + ".safetensors");
  f.meta.architecture = arch;
  f.meta.num_classes = 8;
  f.meta.class_names = data::synth::class_names();
  f.meta.input_size = side;
  f.meta.mean = {0.87, 0.75, 0.72};  // not ImageNet's: the file's values must be the ones used
  f.meta.std = {0.16, 0.19, 0.08};
  Generator gen(21);
  models::ModelOptions opt;
  opt.input_size = side;
  f.model = models::create_model(arch, 8, opt, gen);
  test::calibrate_batchnorms(*f.model, side, 22);
  weights::save_tensors(f.path.string(), f.model->state_dict(), f.meta.to_metadata());
  return f;
}

std::vector<float> expected_probabilities(const ModelFile& f, const std::string& image) {
  data::TransformSpec spec = data::TransformSpec::eval(static_cast<int>(f.meta.input_size));
  for (size_t k = 0; k < 3; ++k) {
    spec.mean[k] = static_cast<float>(f.meta.mean[k]);
    spec.std[k] = static_cast<float>(f.meta.std[k]);
  }
  Tensor x = Tensor::empty({1, 3, f.meta.input_size, f.meta.input_size});
  data::Rng rng(0);
  data::transform_into(spec, data::load_image(image), rng,
                       std::span<float>(x.data<float>(), static_cast<size_t>(x.numel())));
  NoGradGuard no_grad;
  return nn::softmax((*f.model)(x), -1).to_vector<float>();
}

// The largest |p - expected| over every image and class of a --json --top 8 output; requires the
// entries in order, complete and sorted by probability.
double worst_difference(const ModelFile& f, const std::string& json_text) {
  const nlohmann::json all = nlohmann::json::parse(json_text);
  REQUIRE(all.size() == images().size());
  double worst = 0;
  for (size_t i = 0; i < images().size(); ++i) {
    CHECK(all[i]["path"] == images()[i]);
    const std::vector<float> want = expected_probabilities(f, images()[i]);
    const auto& top = all[i]["top"];
    REQUIRE(top.size() == 8);
    double previous = 2;
    for (const auto& entry : top) {
      const auto& names = f.meta.class_names;
      const size_t c = static_cast<size_t>(std::find(names.begin(), names.end(), entry["class"]) - names.begin());
      REQUIRE(c < names.size());
      const double p = entry["probability"].get<double>();
      CHECK(p <= previous);
      previous = p;
      worst = std::max(worst, std::fabs(p - want[c]));
    }
  }
  return worst;
}

// The dynamic dependencies ldd lists that are not the C library's own files.
std::vector<std::string> non_libc_dependencies(const std::string& ldd_output) {
  static const std::regex allowed(
      R"(^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libpthread\.so\.0|libdl\.so\.2)$)");
  std::vector<std::string> bad;
  std::istringstream in(ldd_output);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    if (!(words >> first)) continue;
    const std::string name = fs::path(first).filename().string();
    if (!std::regex_match(name, allowed)) bad.push_back(name);
  }
  return bad;
}

}  // namespace

TEST_CASE("hemo-infer-cpu: needs only the C library at run time, and is under 4 MB stripped") {
  const Run ldd = run("ldd " + quote(HEMO_INFER_CPU_BIN));
  REQUIRE(ldd.status == 0);
  MESSAGE("ldd hemo-infer-cpu:\n", ldd.out);
  CHECK(non_libc_dependencies(ldd.out).empty());
  CHECK(ldd.out.find("libc.so.6") != std::string::npos);
  // The ELF file's own list, which ldd expands.
  const Run needed = run("readelf -d " + quote(HEMO_INFER_CPU_BIN) + " | grep NEEDED");
  REQUIRE(needed.status == 0);
  for (const char* lib : {"stdc++", "gcc_s", "gomp", "turbojpeg", "cuda", "cublas", "cudnn"}) {
    CAPTURE(lib);
    CHECK(needed.out.find(lib) == std::string::npos);
  }
  // The check can fail: the build linked like hemo needs libstdc++, libgomp and libturbojpeg.
  const Run ldd_dynamic = run("ldd " + quote(HEMO_INFER_BIN));
  REQUIRE(ldd_dynamic.status == 0);
  CHECK(non_libc_dependencies(ldd_dynamic.out).size() >= 3);

  const fs::path stripped = work_dir() / "hemo-infer-cpu.stripped";
  REQUIRE(run("strip -o " + quote(stripped.string()) + " " + quote(HEMO_INFER_CPU_BIN)).status == 0);
  const auto size = fs::file_size(stripped);
  MESSAGE("hemo-infer-cpu stripped: ", size, " bytes (", static_cast<double>(size) / (1 << 20), " MiB)");
  CHECK(size < 4u * 1024 * 1024);
}

TEST_CASE("hemo-infer: probabilities equal the unfolded model's (1e-5), in both builds, NCHW and channels-last") {
  REQUIRE(images().size() >= 8);
  for (const auto& [arch, side] :
       std::vector<std::pair<std::string, int64_t>>{{"mobilenet_v2", 64}, {"resnet18", 64}, {"pbcnet7", 72}}) {
    CAPTURE(arch);
    const ModelFile f = make_model_file(arch, side);
    for (const std::string& bin : {std::string(HEMO_INFER_CPU_BIN), std::string(HEMO_INFER_BIN)}) {
      for (const std::string& fold : {std::string(""), std::string(" --no-fold"), std::string(" --channels-last")}) {
        CAPTURE(bin);
        CAPTURE(fold);
        const Run r =
            run(quote(bin) + " " + quote(f.path.string()) + image_args() + " --top 8 --json --threads 2" + fold);
        REQUIRE_MESSAGE(r.status == 0, r.err);
        const double worst = worst_difference(f, r.out);
        CHECK(worst <= 1e-5);
        MESSAGE(arch, fold, " (", fs::path(bin).filename().string(), "): largest probability difference ", worst);
      }
    }
  }
}

TEST_CASE("hemo-infer: the table format, --top, and image paths on standard input") {
  const ModelFile f = make_model_file("mobilenet_v2", 64);
  const Run table = run(infer_cpu(quote(f.path.string()) + image_args() + " --top 2"));
  REQUIRE_MESSAGE(table.status == 0, table.err);
  std::istringstream in(table.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 3 * images().size());
  const std::regex row(R"(^  [a-z]+ +0\.\d{4}$)");
  for (size_t i = 0; i < images().size(); ++i) {
    CHECK(lines[3 * i] == images()[i]);
    CHECK(std::regex_match(lines[3 * i + 1], row));
    CHECK(std::regex_match(lines[3 * i + 2], row));
  }
  // "-": the same paths, one per line, on standard input.
  std::string listing;
  for (const auto& p : images()) listing += p + "\n";
  const fs::path list = work_dir() / "list.txt";
  std::ofstream(list) << listing;
  const Run piped = run("cat " + quote(list.string()) + " | " + infer_cpu(quote(f.path.string()) + " - --top 2"));
  REQUIRE_MESSAGE(piped.status == 0, piped.err);
  CHECK(piped.out == table.out);
}

TEST_CASE("hemo-infer: --bench times the forward pass") {
  const ModelFile f = make_model_file("pbcnet7", 72);
  const Run r = run(infer_cpu(quote(f.path.string()) + " " + quote(images().front()) + " --bench 3 --threads 1"));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(std::regex_search(
      r.err, std::regex(R"(pbcnet7 72x72 batch 1 on cpu, 1 threads, 3 runs .*median [0-9.]+ ms wall, [0-9.]+ ms CPU)")));
  CHECK(r.out.find(images().front()) == 0);  // then classifies as usual
}

TEST_CASE("hemo-infer: clear errors") {
  const ModelFile f = make_model_file("pbcnet7", 72);
  const std::string model = quote(f.path.string()), image = quote(images().front());

  SUBCASE("missing model file") {
    const Run r = run(infer_cpu(quote((work_dir() / "nope.safetensors").string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("nope.safetensors: cannot open for reading: No such file or directory") != std::string::npos);
  }
  SUBCASE("corrupt model files: garbage, truncated") {
    const fs::path garbage = work_dir() / "garbage.safetensors";
    std::ofstream(garbage) << "this is not a model file at all";
    Run r = run(infer_cpu(quote(garbage.string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("garbage.safetensors") != std::string::npos);
    CHECK(r.err.find("not a safetensors model file, or a damaged one") != std::string::npos);
    const std::string bytes = test::read_file(f.path);
    const fs::path cut = work_dir() / "truncated.safetensors";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    r = run(infer_cpu(quote(cut.string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("truncated.safetensors") != std::string::npos);
    CHECK(r.err.find("damaged") != std::string::npos);
  }
  SUBCASE("a safetensors file that is not a hemo model") {
    const fs::path bare = work_dir() / "bare.safetensors";
    weights::save_tensors(bare.string(), f.model->state_dict());
    const Run r = run(infer_cpu(quote(bare.string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("not a hemo model file: metadata lacks 'architecture'") != std::string::npos);
  }
  SUBCASE("unknown architecture") {
    weights::ModelMeta meta = f.meta;
    meta.architecture = "lenet5";
    const fs::path odd = work_dir() / "lenet5.safetensors";
    weights::save_tensors(odd.string(), f.model->state_dict(), meta.to_metadata());
    const Run r = run(infer_cpu(quote(odd.string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("lenet5.safetensors: the architecture is not one this hemo-infer can build: unknown model "
                     "'lenet5'") != std::string::npos);
  }
  SUBCASE("tensors that are not the architecture's") {
    weights::ModelMeta meta = f.meta;
    meta.architecture = "resnet18";
    const fs::path liar = work_dir() / "liar.safetensors";
    weights::save_tensors(liar.string(), f.model->state_dict(), meta.to_metadata());
    const Run r = run(infer_cpu(quote(liar.string()) + " " + image));
    CHECK(r.status == 1);
    CHECK(r.err.find("liar.safetensors: ") != std::string::npos);
    CHECK(r.err.find("missing keys (122):\n    conv1.weight") != std::string::npos);
    CHECK(r.err.find("unexpected keys (18):\n    features.0.0.weight") != std::string::npos);
  }
  SUBCASE("unreadable images are reported; the others are still classified") {
    const fs::path fake = work_dir() / "fake.jpg", missing = work_dir() / "missing.png";
    std::ofstream(fake) << "not an image";
    const Run r =
        run(infer_cpu(model + " " + image + " " + quote(fake.string()) + " " + quote(missing.string()) + " --json"));
    CHECK(r.status == 1);
    CHECK(r.err.find("fake.jpg: not a JPEG, PNG or BMP image") != std::string::npos);
    CHECK(r.err.find("missing.png") != std::string::npos);
    const nlohmann::json all = nlohmann::json::parse(r.out);
    REQUIRE(all.size() == 3);
    CHECK(all[0]["top"].size() == 3);
    CHECK(all[1].contains("error"));
    CHECK(all[2].contains("error"));
  }
  SUBCASE("command-line errors") {
    CHECK(run(infer_cpu("")).status == 2);
    CHECK(run(infer_cpu(model)).status == 2);
    Run r = run(infer_cpu(model + " " + image + " --top 0"));
    CHECK(r.status == 2);
    CHECK(r.err.find("--top needs an integer of at least 1") != std::string::npos);
    r = run(infer_cpu(model + " " + image + " --frobnicate"));
    CHECK(r.status == 2);
    CHECK(r.err.find("unknown option --frobnicate") != std::string::npos);
    r = run(infer_cpu(model + " " + image + " --device cuda"));
    CHECK(r.status == 1);
    CHECK(r.err.find("built without CUDA") != std::string::npos);
  }
}

TEST_CASE("hemo-infer agrees with hemo predict (1e-5): a trained checkpoint, and a weights-only file") {
  // Real checkpoints: two epochs of `hemo train` (batch norms with running statistics from
  // training, the optimizer's state stored beside the model; enough for the outputs to depend on
  // the image, which a model near its initialization does not), and a weights-only model file.
  const fs::path run_dir = work_dir() / "run";
  fs::remove_all(run_dir);
  const fs::path data_dir = fs::path(images().front()).parent_path().parent_path();
  const Run train = run(quote(HEMO_BIN) + " train --model resnet18 --data " + quote(data_dir.string()) +
                        " --out " + quote(run_dir.string()) +
                        " --input-size 64 --epochs 2 --batch-size 8 --threads 2 --seed 3");
  REQUIRE_MESSAGE(train.status == 0, train.out, train.err);
  std::vector<fs::path> models{make_model_file("mobilenet_v2", 64).path};
  for (const auto& e : fs::directory_iterator(run_dir))
    if (e.path().extension() == ".safetensors") models.push_back(e.path());
  REQUIRE(models.size() >= 2);
  // Test-time augmentation (data/tta.h) the same: hemo predict averages the views batch by batch,
  // hemo-infer runs one image's eight views as a batch.
  std::vector<std::pair<fs::path, std::string>> cases;
  for (const fs::path& model : models) cases.emplace_back(model, "none");
  cases.emplace_back(models[0], "dihedral");
  cases.emplace_back(models[1], "dihedral");
  std::map<std::string, nlohmann::json> plain;
  for (const auto& [model, tta] : cases) {
    CAPTURE(model);
    CAPTURE(tta);
    const std::string with_tta = " --tta " + tta;
    const Run predicted = run(quote(HEMO_BIN) + " predict --checkpoint " + quote(model.string()) + image_args() +
                              " --top 8 --json" + with_tta);
    REQUIRE_MESSAGE(predicted.status == 0, predicted.err);
    const Run inferred = run(infer_cpu(quote(model.string()) + image_args() + " --top 8 --json" + with_tta));
    REQUIRE_MESSAGE(inferred.status == 0, inferred.err);
    const nlohmann::json a = nlohmann::json::parse(predicted.out), b = nlohmann::json::parse(inferred.out);
    REQUIRE(a.size() == images().size());
    REQUIRE(b.size() == a.size());
    double worst = 0, top_min = 1, top_max = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i]["path"] == b[i]["path"]);
      top_min = std::min(top_min, a[i]["top"][0]["probability"].get<double>());
      top_max = std::max(top_max, a[i]["top"][0]["probability"].get<double>());
      std::map<std::string, double> pa;
      for (const auto& e : a[i]["top"]) pa[e["class"]] = e["probability"].get<double>();
      REQUIRE(pa.size() == 8);
      for (const auto& e : b[i]["top"]) {
        REQUIRE(pa.count(e["class"]) == 1);
        worst = std::max(worst, std::fabs(pa[e["class"]] - e["probability"].get<double>()));
      }
    }
    CHECK(worst <= 1e-5);
    CHECK(top_max - top_min > 0.01);  // the probabilities depend on the image
    MESSAGE(model.filename().string(), " --tta ", tta, ": hemo predict vs hemo-infer-cpu, largest probability difference ",
            worst);
    // The views change the answer: the averaged probabilities are not the plain ones.
    if (tta == "none")
      plain[model.string()] = a;
    else
      CHECK(a != plain.at(model.string()));
  }
}
