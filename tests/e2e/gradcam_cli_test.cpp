// `hemo gradcam` end to end: a pbcnet7 checkpoint explains one image of each class of pbc-mini
// (synthetic cells when ../shared is absent): per image an overlay PNG at the original size and a
// 16-bit map at the input size equal to what train::explain_images computes in-process, the
// predictions CSV, the gallery page grouped misclassified first; a folder with the stray non-image
// file is explained with a note; bad options give clear errors.
#include <doctest/doctest.h>

#include <stb/stb_image.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "data/decode.h"
#include "data/io.h"
#include "data/synth.h"
#include "models/registry.h"
#include "tests/train/train_test_util.h"
#include "train/checkpoint.h"
#include "train/gradcam_run.h"

using namespace hemo;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {

fs::path work() { return test::train_work_dir("gradcam_cli"); }

// pbc-mini, or a synthetic stand-in with the same layout and a stray non-image file.
fs::path image_root() {
  const fs::path mini = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
  if (fs::is_directory(mini) && !std::getenv("HEMO_E2E_SYNTH")) return mini;
  const fs::path dir = work() / "synth";
  if (!fs::exists(dir / "platelet")) {
    fs::remove_all(dir);
    data::synth::generate(dir, 3, 90, 4, "jpg", 2);
    const std::string ds = std::string("\0\0\0\1Bud1", 8) + std::string(64, '\0');
    data::write_file_atomic(dir / "neutrophil" / ".DS_169665.jpg", ds);
  }
  return dir;
}

struct Fixture {
  fs::path root, checkpoint;
  std::vector<std::string> classes, images;  // one image per class, sorted
  weights::ModelMeta meta;
  nn::ModulePtr model;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    x.root = image_root();
    for (const auto& e : fs::directory_iterator(x.root))
      if (e.is_directory()) x.classes.push_back(e.path().filename().string());
    std::sort(x.classes.begin(), x.classes.end());
    for (const std::string& c : x.classes) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(x.root / c))
        if (e.path().filename().string()[0] != '.') files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      x.images.push_back(files.front());
    }
    x.meta.architecture = "pbcnet7";
    x.meta.num_classes = static_cast<int64_t>(x.classes.size());
    x.meta.class_names = x.classes;
    x.meta.input_size = 100;
    models::ModelOptions opt;
    opt.input_size = 100;
    Generator gen(31);
    x.model = models::create_model("pbcnet7", x.meta.num_classes, opt, gen);
    x.checkpoint = work() / "pbcnet7.safetensors";
    train::save_checkpoint(x.checkpoint.string(), *x.model, x.meta);
    x.model->eval();
    return x;
  }();
  return f;
}

int gradcam(const std::string& args, std::string* out, std::string* err) {
  return test::run_command(shell_quote(HEMO_BIN) + " gradcam " + args, out, err);
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream ss(test::read_file(p));
  for (std::string line; std::getline(ss, line);) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

std::vector<uint16_t> read_png16(const fs::path& p, int* w, int* h) {
  const std::vector<uint8_t> bytes = data::read_file_bytes(p);
  int channels = 0;
  REQUIRE(stbi_is_16_bit_from_memory(bytes.data(), static_cast<int>(bytes.size())) == 1);
  std::unique_ptr<stbi_us, decltype(&stbi_image_free)> px(
      stbi_load_16_from_memory(bytes.data(), static_cast<int>(bytes.size()), w, h, &channels, 1), &stbi_image_free);
  REQUIRE(px != nullptr);
  CHECK(channels == 1);
  return std::vector<uint16_t>(px.get(), px.get() + *w * *h);
}

}  // namespace

TEST_CASE("hemo gradcam: overlays, 16-bit maps, predictions.csv and the gallery for one image per class") {
  const Fixture& f = fixture();
  const fs::path out = work() / "one_per_class";
  fs::remove_all(out);
  std::string args = cat("--checkpoint ", shell_quote(f.checkpoint.string()), " --out ", shell_quote(out.string()));
  for (const std::string& im : f.images) args += " " + shell_quote(im);
  std::string o, e;
  REQUIRE_MESSAGE(gradcam(args, &o, &e) == 0, e);
  CHECK(o.find(cat(f.images.size(), " images (pbcnet7, layer features.5.1)")) != std::string::npos);

  // What the library computes in-process for the same images and settings.
  std::vector<train::CamInput> inputs;
  for (size_t c = 0; c < f.images.size(); ++c) inputs.push_back({f.images[c], static_cast<int64_t>(c)});
  std::vector<train::CamImage> want;
  train::explain_images(*f.model, f.meta, inputs, {}, Device::cpu(), [&](train::CamImage& im) { want.push_back(im); });

  const auto rows = read_csv(out / "predictions.csv");
  REQUIRE(rows.size() == f.images.size() + 1);
  CHECK(rows[0] == std::vector<std::string>{"image", "true_class", "predicted_class", "probability", "explained_class",
                                            "overlay", "map"});
  for (size_t i = 0; i < f.images.size(); ++i) {
    CAPTURE(f.images[i]);
    const auto& r = rows[i + 1];
    REQUIRE(r.size() == 7);
    CHECK(r[0] == f.images[i]);
    CHECK(r[1] == f.classes[i]);  // the folder's name
    CHECK(r[2] == f.classes[static_cast<size_t>(want[i].predicted)]);
    CHECK(r[4] == r[2]);
    const data::Image original = data::load_image(f.images[i]);
    const data::Image overlay = data::load_image(out / r[5]);
    CHECK(overlay.width == original.width);
    CHECK(overlay.height == original.height);
    CHECK(overlay == want[i].overlay);
    CHECK(!(overlay == original));
    int w = 0, h = 0;
    const std::vector<uint16_t> map = read_png16(out / r[6], &w, &h);
    CHECK(w == 100);
    CHECK(h == 100);
    CHECK(map == want[i].map16);
  }
  const std::string page = test::read_file(out / "index.html");
  for (size_t i = 1; i < rows.size(); ++i) CHECK(page.find(rows[i][5]) != std::string::npos);
  // Misclassified groups come before correct ones.
  const size_t first_correct = page.find(": correct (");
  const size_t last_miss = page.rfind("misclassified (");
  if (first_correct != std::string::npos && last_miss != std::string::npos) CHECK(last_miss < first_correct);
  CHECK((first_correct != std::string::npos || last_miss != std::string::npos));
}

TEST_CASE("hemo gradcam: a folder (the stray non-image file skipped with a note), Grad-CAM++ for a given class") {
  const Fixture& f = fixture();
  const fs::path out = work() / "folder";
  fs::remove_all(out);
  const fs::path folder = f.root / "neutrophil";
  size_t expected = 0;
  for (const auto& e : fs::directory_iterator(folder)) expected += e.path().filename().string()[0] != '.';
  std::string o, e;
  REQUIRE_MESSAGE(gradcam(cat("--checkpoint ", shell_quote(f.checkpoint.string()), " --out ", shell_quote(out.string()),
                           " --method gradcampp --class ", f.classes[0], " --colormap turbo --batch-size 5 ",
                           shell_quote(folder.string())),
                       &o, &e) == 0,
                  e);
  CHECK(e.find("skipped") != std::string::npos);
  CHECK(e.find(".DS_169665.jpg") != std::string::npos);
  const auto rows = read_csv(out / "predictions.csv");
  REQUIRE(rows.size() == expected + 1);
  for (size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i][1] == "neutrophil");
    CHECK(rows[i][4] == f.classes[0]);  // the class asked for, whatever was predicted
    CHECK(fs::exists(out / rows[i][5]));
    CHECK(fs::exists(out / rows[i][6]));
  }
  CHECK(test::read_file(out / "index.html").find("Grad-CAM++: pbcnet7 at features.5.1") != std::string::npos);
}

TEST_CASE("hemo gradcam: clear errors") {
  const Fixture& f = fixture();
  const std::string base = cat("--checkpoint ", shell_quote(f.checkpoint.string()), " --out ",
                               shell_quote((work() / "errors").string()), " ");
  std::string o, e;
  CHECK(gradcam(base + "--class nosuch " + shell_quote(f.images[0]), &o, &e) != 0);
  CHECK(e.find("no class 'nosuch'") != std::string::npos);
  CHECK(e.find(f.classes[0]) != std::string::npos);
  CHECK(gradcam(base + "--layer features.99 " + shell_quote(f.images[0]), &o, &e) != 0);
  CHECK(e.find("no module named 'features.99'") != std::string::npos);
  CHECK(gradcam(base + shell_quote((work() / "missing.jpg").string()), &o, &e) != 0);
  CHECK(e.find("no such file or folder") != std::string::npos);
  CHECK(gradcam(base + "--method gradcam3 " + shell_quote(f.images[0]), &o, &e) != 0);
}
