// Grad-CAM over image files (train/gradcam_run.h): the map drawn over the original image where the
// evaluation crop came from, explain_images against nn::grad_cam run directly, the galleries'
// grouping and page, and report.html's gallery of test images after a tiny training run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "data/decode.h"
#include "data/encode.h"
#include "models/registry.h"
#include "nn/gradcam.h"
#include "tests/train/tiny_run.h"
#include "train/gradcam_gallery.h"
#include "train/gradcam_report.h"
#include "train/gradcam_run.h"
#include "train/trainer.h"

using namespace hemo;
using namespace hemo::train;
namespace fs = std::filesystem;

TEST_CASE("overlay_on_original: the map covers the evaluation crop's region of the original") {
  // 200x100 -> shorter side 50 -> 100x50, centre crop 50: input columns [50, 150) are the map.
  data::Image img(200, 100, 200);
  const Tensor map = Tensor::from_vector<float>({0, 1}, {1, 2});  // cold left, hot right
  const data::Image out = overlay_on_original(img, map, data::TransformSpec::eval(50), Colormap::jet, 1.f);
  REQUIRE(out.width == 200);
  REQUIRE(out.height == 100);
  auto px = [&](int x, int y) { return std::vector<int>(out.at(x, y), out.at(x, y) + 3); };
  // Outside the crop: the image unchanged.
  CHECK(px(10, 50) == std::vector<int>{200, 200, 200});
  CHECK(px(49, 50) == std::vector<int>{200, 200, 200});
  CHECK(px(150, 50) == std::vector<int>{200, 200, 200});
  // alpha 1: the colour alone, jet(0) = (0, 0, 0.5) at the crop's left edge, jet(1) = (0.5, 0, 0) at its right.
  CHECK(px(50, 10) == std::vector<int>{0, 0, 128});
  CHECK(px(149, 90) == std::vector<int>{128, 0, 0});
  // Half way the map is 0.5 (jet(0.5): green), with alpha 0.5 half the image.
  const data::Image half = overlay_on_original(img, map, data::TransformSpec::eval(50), Colormap::jet, 0.5f);
  CHECK(half.at(100, 50)[1] > 200);  // 0.5 * 200 + 0.5 * 255
  CHECK(half.at(10, 50)[1] == 200);
}

TEST_CASE("group_gallery: misclassified first, then correct, then unknown truth; the page escapes") {
  const std::vector<std::string> names = {"a<b", "beta", "gamma"};
  const std::vector<GalleryEntry> entries = {{0, 0, "0.png", "c0"}, {1, 2, "1.png", "c1"}, {-1, 1, "2.png", "c2"},
                                             {2, 2, "3.png", "c3"}, {1, 0, "4.png", "c4"}, {1, 2, "5.png", "c5"},
                                             {0, 0, "6.png", "c6"}};
  const auto groups = group_gallery(entries, names);
  REQUIRE(groups.size() == 5);
  CHECK(groups[0].title == "true beta, predicted a<b: misclassified (1)");
  CHECK(groups[1].title == "true beta, predicted gamma: misclassified (2)");
  CHECK(groups[2].title == "a<b: correct (2)");
  CHECK(groups[3].title == "gamma: correct (1)");
  CHECK(groups[4].title == "predicted beta: true class unknown (1)");
  CHECK(groups[1].misclassified);
  CHECK(!groups[2].misclassified);
  CHECK(groups[1].entries[0].image == "1.png");
  CHECK(groups[1].entries[1].image == "5.png");
  CHECK(groups[2].entries[1].caption == "c6");
  const std::string page = gallery_page("t & t", "sub", groups);
  CHECK(page.find("a&lt;b: correct") != std::string::npos);
  CHECK(page.find("a<b") == std::string::npos);
  CHECK(page.find("<title>t &amp; t</title>") != std::string::npos);
  CHECK(page.find("beta, predicted a&lt;b") < page.find("gamma: correct"));
  CHECK_THROWS_WITH_AS(group_gallery({{0, 3, "", ""}}, names), doctest::Contains("out of range"), Error);
}

TEST_CASE("gallery_selection: misclassified images from the classes in turns up to the cap, then a few correct ones") {
  Predictions p;
  for (int i = 0; i < 40; ++i) {
    p.paths.push_back(cat(i));
    p.truth.push_back(i < 16 ? 0 : i % 4);  // images 0..15 are class 0, the rest cycle
    p.predicted.push_back(i < 20 ? 1 : p.truth.back());  // the first 20 predicted 1
  }
  // Wrong: class 0 (0..15), class 2 (18), class 3 (19); image 17 (class 1) is right.
  const std::vector<size_t> s = gallery_selection(p, 4);
  REQUIRE(s.size() == kGalleryMisclassified + 4 * kGalleryPerClass);
  // Turns: 0, 18, 19, then class 0's next ones until 12 in all, in ascending order.
  const std::vector<size_t> wrong(s.begin(), s.begin() + kGalleryMisclassified);
  CHECK(wrong == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 18, 19});
  // Then two correct per class: class 1's 17 and 21, class 0's 20 and 24, class 2's 22, 26, class 3's 23, 27.
  const std::vector<size_t> right(s.begin() + kGalleryMisclassified, s.end());
  CHECK(right == std::vector<size_t>{17, 20, 21, 22, 23, 24, 26, 27});
}

TEST_CASE("explain_images equals nn::grad_cam on the evaluation-transformed images") {
  const fs::path dir = test::train_work_dir("gradcam_run");
  Generator gen(21);
  std::vector<CamInput> inputs;
  const int sizes[3][2] = {{90, 70}, {64, 64}, {50, 120}};
  for (int i = 0; i < 3; ++i) {
    data::Image im(sizes[i][0], sizes[i][1]);
    for (uint8_t& b : im.rgb) b = static_cast<uint8_t>(gen.uniform(0, 256));
    const fs::path p = dir / cat("img", i, ".png");
    data::save_image(p, im);
    inputs.push_back({p.string(), i == 1 ? 2 : -1});
  }
  weights::ModelMeta meta;
  meta.architecture = "pbcnet7";
  meta.num_classes = 3;
  meta.class_names = {"x", "y", "z"};
  meta.input_size = 40;
  models::ModelOptions opt;
  opt.input_size = 40;
  nn::ModulePtr model = models::create_model("pbcnet7", 3, opt, gen);
  model->eval();

  for (CamMethod method : {CamMethod::gradcam, CamMethod::gradcampp}) {
    CAPTURE(cam_method_name(method));
    CamSettings s;
    s.method = method;
    s.batch_size = 2;  // batches of 2 and 1
    std::vector<CamImage> got, got_last;
    explain_images(*model, meta, inputs, s, Device::cpu(), [&](CamImage& im) { got.push_back(std::move(im)); });
    REQUIRE(got.size() == 3);
    s.channels_last = true;  // the same maps through channels-last activations
    explain_images(*model, meta, inputs, s, Device::cpu(), [&](CamImage& im) { got_last.push_back(std::move(im)); });
    REQUIRE(got_last.size() == 3);

    // Directly: the same transform, one batch of three.
    data::TransformSpec tf = data::TransformSpec::eval(40);
    std::vector<float> x(3 * tf.output_floats());
    data::Rng rng(0);
    for (size_t i = 0; i < 3; ++i)
      data::transform_into(tf, data::load_image(inputs[i].path), rng,
                           std::span<float>(x.data() + i * tf.output_floats(), tf.output_floats()));
    nn::GradCamOptions o;
    o.method = method;
    o.layer = models::model_spec("pbcnet7").gradcam_layer;
    const nn::GradCamResult r = nn::grad_cam(*model, Tensor::from_vector(x, {3, 3, 40, 40}), o);
    const std::vector<float> maps = r.maps.to_vector<float>();
    for (size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(got[i].path == inputs[i].path);
      CHECK(got[i].truth == inputs[i].truth);
      CHECK(got[i].explained == r.classes[i]);
      CHECK(got[i].predicted == r.classes[i]);
      double sum = 0;
      for (float v : got[i].probabilities) sum += v;
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
      CHECK(got[i].overlay.width == sizes[i][0]);
      CHECK(got[i].overlay.height == sizes[i][1]);
      REQUIRE(got[i].map16.size() == 1600);
      int worst = 0;
      for (size_t p = 0; p < 1600; ++p)
        worst = std::max(worst, std::abs(int(got[i].map16[p]) - int(std::lround(maps[i * 1600 + p] * 65535.0))));
      CHECK(worst <= 2);  // batch composition changes float rounding, not the map
      int worst_last = 0;
      for (size_t p = 0; p < 1600; ++p)
        worst_last = std::max(worst_last, std::abs(int(got_last[i].map16[p]) - int(got[i].map16[p])));
      CHECK(worst_last <= 2);
      CHECK(got_last[i].predicted == got[i].predicted);
      CHECK(*std::max_element(got[i].map16.begin(), got[i].map16.end()) > 30000);
    }
  }
  CamSettings bad;
  bad.layer = "features.9";
  CHECK_THROWS_WITH_AS(explain_images(*model, meta, inputs, bad, Device::cpu(), [](CamImage&) {}),
                       doctest::Contains("no module named 'features.9'"), Error);
  bad.layer.clear();
  bad.target_class = 3;
  CHECK_THROWS_WITH_AS(explain_images(*model, meta, inputs, bad, Device::cpu(), [](CamImage&) {}),
                       doctest::Contains("class 3 is out of range"), Error);
}

TEST_CASE("report.html of a training run holds a Grad-CAM gallery of test images, misclassified first") {
  const fs::path out = test::train_work_dir("gradcam_report") / "run";
  fs::remove_all(out);
  TrainConfig c = test::tiny_config(out.string());
  c.epochs = 1;
  const TrainResult r = run_training(c, test::quiet);
  const std::string html = test::read_file(out / "report.html");
  const size_t gallery = html.find("<h2>Gallery</h2>");
  REQUIRE(gallery != std::string::npos);
  // One inline JPEG per selected test image; the run's predictions.csv says which were wrong.
  const size_t images = [&] {
    size_t n = 0;
    for (size_t p = html.find("src=\"data:image/jpeg;base64,", gallery); p != std::string::npos;
         p = html.find("src=\"data:image/jpeg;base64,", p + 1))
      ++n;
    return n;
  }();
  CHECK(images > 0);
  CHECK(images <= kGalleryMisclassified + kGalleryPerClass * r.test.classes.size());
  // Headings: every misclassified group before the first correct one.
  std::vector<std::string> headings;
  const std::regex h3("<h3>([^<]*)</h3>");
  for (auto it = std::sregex_iterator(html.begin() + static_cast<std::ptrdiff_t>(gallery), html.end(), h3);
       it != std::sregex_iterator(); ++it)
    headings.push_back((*it)[1]);
  REQUIRE(!headings.empty());
  bool seen_correct = false;
  for (const std::string& h : headings) {
    const bool miss = h.find("misclassified") != std::string::npos;
    CHECK_MESSAGE(!(miss && seen_correct), "misclassified group after a correct one: ", h);
    seen_correct = seen_correct || h.find(": correct") != std::string::npos;
  }
}
