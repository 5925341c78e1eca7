// The synthetic dataset: deterministic, 8 PBC classes, written as an ImageFolder.
#include <doctest/doctest.h>

#include "core/error.h"
#include "data/image_folder.h"
#include "data/synth.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

TEST_CASE("draw_cell is a pure function of (class, size, seed, index)") {
  for (int c = 0; c < synth::kNumClasses; ++c) {
    const Image a = synth::draw_cell(c, 64, 1, 3);
    CHECK(a.width == 64);
    CHECK(a == synth::draw_cell(c, 64, 1, 3));
    CHECK(a != synth::draw_cell(c, 64, 1, 4));
    CHECK(a != synth::draw_cell(c, 64, 2, 3));
  }
  CHECK_THROWS_AS(synth::draw_cell(8, 64, 1, 0), hemo::Error);
  CHECK_THROWS_AS(synth::draw_cell(0, 16, 1, 0), hemo::Error);
}

TEST_CASE("in-memory generation: class-major, same result on any thread count") {
  const auto one = synth::generate_in_memory(3, 40, 7, 1);
  const auto many = synth::generate_in_memory(3, 40, 7, 4);
  CHECK(one.classes == synth::class_names());
  REQUIRE(one.images.size() == 24);
  CHECK(one.labels[3] == 1);
  CHECK(one.images == many.images);
}

TEST_CASE("classes differ in what the recipes say (cheap sanity on pixel statistics)") {
  // Lymphocytes (a dense nucleus filling the cell) are darker at the cell than platelets' scene,
  // eosinophils' granules make the cell redder than a lymphocyte's blue rim.
  auto centre_mean = [](const Image& img, int ch) {
    double s = 0;
    int n = 0;
    for (int y = 24; y < 40; ++y)
      for (int x = 24; x < 40; ++x, ++n) s += img.at(x, y)[ch];
    return s / n;
  };
  double lym = 0, plt = 0, eos_rb = 0, lym_rb = 0;
  for (int i = 0; i < 20; ++i) {
    const Image l = synth::draw_cell(4, 64, 3, i), p = synth::draw_cell(7, 64, 3, i),
                e = synth::draw_cell(1, 64, 3, i);
    lym += centre_mean(l, 1);
    plt += centre_mean(p, 1);
    eos_rb += centre_mean(e, 0) - centre_mean(e, 2);
    lym_rb += centre_mean(l, 0) - centre_mean(l, 2);
  }
  CHECK(lym < plt - 20 * 20);
  CHECK(eos_rb > lym_rb);
}

TEST_CASE("generate writes an ImageFolder with PBC's classes and refuses a non-empty folder") {
  const fs::path dir = test::scratch_dir("synth_folder");
  CHECK(synth::generate(dir / "png", 4, 48, 1, "png", 2) == 32);
  const ImageFolder f = scan_image_folder(dir / "png", {Verify::Full, {}});
  CHECK(f.classes == synth::class_names());
  CHECK(f.samples.size() == 32);
  CHECK(fs::exists(dir / "png" / "neutrophil" / "neutrophil_00003.png"));
  CHECK(load_image(dir / "png" / "ig" / "ig_00001.png") == synth::draw_cell(3, 48, 1, 1));
  CHECK(synth::generate(dir / "jpg", 1, 48, 1, "jpg", 2) == 8);
  CHECK(fs::exists(dir / "jpg" / "basophil" / "basophil_00000.jpg"));
  CHECK_THROWS_WITH_AS(synth::generate(dir / "png", 1, 48, 1, "png", 1), doctest::Contains("not empty"),
                       hemo::Error);
  CHECK_THROWS_WITH_AS(synth::generate(dir / "x", 1, 48, 1, "gif", 1), doctest::Contains("not png or jpg"),
                       hemo::Error);
}
