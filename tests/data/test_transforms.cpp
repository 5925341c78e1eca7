// Transforms, each against a hand-computed case (the arithmetic is in the comments), plus PIL
// parity for resize and rotation on a real image.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "data/color.h"
#include "data/decode.h"
#include "data/resize.h"
#include "data/rotate.h"
#include "data/transforms.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {
// A w x h image whose pixel (x, y) has all three channels = f(x, y).
template <class F>
Image gray_image(int w, int h, F f) {
  Image img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.at(x, y)[c] = static_cast<uint8_t>(f(x, y));
  return img;
}
std::vector<int> row0(const Image& img) {
  std::vector<int> v;
  for (int x = 0; x < img.width; ++x) v.push_back(img.at(x, 0)[0]);
  return v;
}
}  // namespace

TEST_CASE("resize: antialiased shrink and bilinear enlarge, hand-computed") {
  // Shrink 4 -> 2, scale 2: the triangle filter is stretched to support 2. Output 0 is centred at
  // 1.0 and takes inputs 0, 1, 2 with weights 0.75, 0.75, 0.25 (sum 1.75):
  //   (0 * .75 + 40 * .75 + 80 * .25) / 1.75 = 28.57 -> 29
  // Output 1, centred at 3.0, takes inputs 1, 2, 3 with .25, .75, .75:
  //   (40 * .25 + 80 * .75 + 120 * .75) / 1.75 = 91.43 -> 91
  const Image ramp = gray_image(4, 1, [](int x, int) { return 40 * x; });
  CHECK(row0(resize(ramp, 2, 1)) == std::vector<int>{29, 91});
  // Enlarge 2 -> 4, scale 0.5: centres at 0.25, 0.75, 1.25, 1.75 in input pixels; plain bilinear
  // between pixel centres 0.5 and 1.5, clamped at the edges: 0, 25, 75, 100.
  const Image two = gray_image(2, 1, [](int x, int) { return 100 * x; });
  CHECK(row0(resize(two, 4, 1)) == std::vector<int>{0, 25, 75, 100});
  // Same size: identity. A region at its own size: a plain copy.
  const Image big = gray_image(4, 4, [](int x, int y) { return 10 * x + y; });
  CHECK(resize(big, 4, 4) == big);
  const Image part = resize_region(big, 1, 2, 2, 2, 2, 2);
  CHECK(part.at(0, 0)[0] == 12);
  CHECK(part.at(1, 1)[0] == 23);
  // A uniform image stays uniform at any size (weights sum to 1).
  const Image flat = resize(Image(37, 23, 201), 11, 5);
  for (uint8_t v : flat.rgb) CHECK(v == 201);
  CHECK_THROWS_AS(resize_region(big, 3, 3, 2, 2, 4, 4), hemo::Error);
}

TEST_CASE("resize_shorter_side and center_crop follow torchvision's rounding") {
  const Image img(363, 360);
  const Image r = resize_shorter_side(img, 224);
  CHECK(r.height == 224);
  CHECK(r.width == 225);  // int(224 * 363 / 360) = int(225.87)
  // 5x5 -> 2x2: top = left = round(1.5) = 2 (half to even).
  const Image five = gray_image(5, 5, [](int x, int y) { return 10 * y + x; });
  const Image c = center_crop(five, 2, 2);
  CHECK(c.at(0, 0)[0] == 22);
  CHECK(c.at(1, 1)[0] == 33);
  // 7x7 -> 2x2: round(2.5) = 2.
  CHECK(center_crop(gray_image(7, 7, [](int x, int y) { return 10 * y + x; }), 2, 2).at(0, 0)[0] == 22);
  // Larger than the image: zero padding, the image centred (top = round(-1) = -1).
  const Image p = center_crop(gray_image(2, 2, [](int, int) { return 9; }), 4, 4);
  CHECK(p.at(0, 0)[0] == 0);
  CHECK(p.at(1, 1)[0] == 9);
  CHECK(p.at(2, 2)[0] == 9);
  CHECK(p.at(3, 3)[0] == 0);
}

TEST_CASE("flips") {
  Image img = gray_image(3, 2, [](int x, int y) { return 10 * y + x; });
  hflip_inplace(img);
  CHECK(row0(img) == std::vector<int>{2, 1, 0});
  vflip_inplace(img);
  CHECK(row0(img) == std::vector<int>{12, 11, 10});
}

TEST_CASE("rotation: quarter turns are exact, borders blend into the fill") {
  // 90 degrees counter-clockwise on a 4x4: out(x, y) = in(3 - y, x) (the top-right corner goes
  // to the top-left).
  const Image img = gray_image(4, 4, [](int x, int y) { return 10 * y + x; });
  const Image r90 = rotate(img, 90.0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK(r90.at(x, y)[0] == img.at(3 - y, x)[0]);
  const Image odd = gray_image(3, 3, [](int x, int y) { return 10 * y + x; });
  CHECK(rotate(odd, -90.0).at(0, 0)[0] == odd.at(0, 2)[0]);  // clockwise: bottom-left to top-left
  CHECK(rotate(odd, 180.0).at(0, 0)[0] == 22);
  CHECK(rotate(img, 0.0) == img);
  CHECK(rotate(img, 360.0) == img);
  // 45 degrees on a uniform 4x4 of 100 with fill 0. Output (0, 0), centre p = (0.5, 0.5), c = (2, 2):
  //   s = R(45)(p - c) + c = (2, 2 - 1.5 * sqrt 2) = (2, -0.1213)
  // In pixel-index space (minus 0.5): (1.5, -0.6213): row -1 (fill) weighs 0.6213, row 0
  // (value 100) weighs 0.3787 -> 37.87 -> 38.
  const Image flat(4, 4, 100);
  const Image r45 = rotate(flat, 45.0, Interp::Bilinear, {0, 0, 0});
  CHECK(r45.at(0, 0)[0] == 38);
  CHECK(r45.at(1, 1)[0] == 100);  // inside stays 100
  // Fill colour, per channel; nearest interpolation leaves no blend.
  const Image n45 = rotate(flat, 45.0, Interp::Nearest, {7, 8, 9});
  CHECK(n45.at(0, 0)[0] == 7);  // s is outside (y = -0.12)
  CHECK(n45.at(0, 0)[2] == 9);
  CHECK(n45.at(2, 2)[0] == 100);
}

TEST_CASE("colour jitter steps, hand-computed") {
  std::vector<float> v = {0.5f, 0.8f, 0.2f};
  adjust_brightness(v, 1.5f);  // 0.75, 1.2 -> 1 (clamped), 0.3
  CHECK(v[0] == doctest::Approx(0.75));
  CHECK(v[1] == doctest::Approx(1.0));
  CHECK(v[2] == doctest::Approx(0.3));
  // Contrast 0: every value becomes the mean gray of the image.
  std::vector<float> two = {1, 0, 0, 0, 0, 1};  // gray 0.299 and 0.114 -> mean 0.2065
  adjust_contrast(two, 0.f);
  for (float x : two) CHECK(x == doctest::Approx(0.2065));
  // Contrast 2 on the same image: 2x - 0.2065, clamped.
  std::vector<float> c2 = {1, 0, 0, 0, 0, 1};
  adjust_contrast(c2, 2.f);
  CHECK(c2[0] == doctest::Approx(1.0));
  CHECK(c2[1] == doctest::Approx(0.0));
  // Saturation 0: each pixel becomes its own gray; 0.5 halves the distance to it.
  std::vector<float> s = {1, 0, 0};
  adjust_saturation(s, 0.5f);  // gray 0.299: 0.5 + 0.1495, 0.1495, 0.1495
  CHECK(s[0] == doctest::Approx(0.6495));
  CHECK(s[2] == doctest::Approx(0.1495));
  // Hue: red + 1/2 -> cyan, red + 1/3 -> green; (0.8, 0.4, 0.2) has H = 1/18, S = 0.75, V = 0.8;
  // + 1/2 gives H = 5/9: sector 3, fraction 1/3 -> (0.2, 0.8 - 0.6 / 3, 0.8) = (0.2, 0.6, 0.8).
  std::vector<float> h = {1, 0, 0, 1, 0, 0, 0.8f, 0.4f, 0.2f, 0.3f, 0.3f, 0.3f};
  std::vector<float> h1(h.begin(), h.begin() + 3), h2(h.begin() + 3, h.begin() + 6), h3(h.begin() + 6, h.begin() + 9),
      grey(h.begin() + 9, h.end());
  adjust_hue(h1, 0.5f);
  adjust_hue(h2, 1.f / 3.f);
  adjust_hue(h3, 0.5f);
  adjust_hue(grey, 0.25f);
  CHECK(h1[0] == doctest::Approx(0.0));
  CHECK(h1[1] == doctest::Approx(1.0));
  CHECK(h1[2] == doctest::Approx(1.0));
  CHECK(h2[0] == doctest::Approx(0.0));
  CHECK(h2[1] == doctest::Approx(1.0));
  CHECK(h2[2] == doctest::Approx(0.0));
  CHECK(h3[0] == doctest::Approx(0.2));
  CHECK(h3[1] == doctest::Approx(0.6));
  CHECK(h3[2] == doctest::Approx(0.8));
  CHECK(grey[0] == doctest::Approx(0.3));  // gray has no hue
  // A full hue turn (-0.5 then +0.5) gives the colour back.
  std::vector<float> back = {0.8f, 0.4f, 0.2f};
  adjust_hue(back, -0.5f);
  adjust_hue(back, 0.5f);
  CHECK(back[0] == doctest::Approx(0.8).epsilon(1e-5));
  CHECK(back[1] == doctest::Approx(0.4).epsilon(1e-5));
}

TEST_CASE("normalize to CHW") {
  Image img(2, 1);
  img.rgb = {255, 0, 0, 0, 255, 51};
  std::vector<float> out(6);
  to_chw_normalized(img, out, kImageNetMean, kImageNetStd);
  CHECK(out[0] == doctest::Approx((1 - 0.485) / 0.229));  // R of pixel 0
  CHECK(out[1] == doctest::Approx(-0.485 / 0.229));       // R of pixel 1
  CHECK(out[3] == doctest::Approx((1 - 0.456) / 0.224));  // G of pixel 1
  CHECK(out[5] == doctest::Approx((0.2 - 0.406) / 0.225));
  std::vector<float> hwc = {1, 0, 0, 0, 1, 0.2f}, out2(6);
  hwc_to_chw_normalized(hwc, 2, 1, out2, kImageNetMean, kImageNetStd);
  for (size_t i = 0; i < 6; ++i) CHECK(out2[i] == doctest::Approx(out[i]));
}

TEST_CASE("RandomResizedCrop boxes stay inside, within the scale range, and fall back") {
  TransformSpec s = TransformSpec::train(224);
  s.scale_min = 0.3f;
  s.scale_max = 0.9f;
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    const CropBox b = random_resized_crop_box(360, 363, s, rng);
    REQUIRE(b.x >= 0);
    REQUIRE(b.y >= 0);
    REQUIRE(b.x + b.w <= 360);
    REQUIRE(b.y + b.h <= 363);
    const double area = double(b.w) * b.h / (360.0 * 363);
    CHECK(area > 0.28);
    CHECK(area < 0.92);
    const double ratio = double(b.w) / b.h;
    CHECK(ratio > 0.74);
    CHECK(ratio < 1.35);
  }
  // A 1000x10 strip cannot hold a 3/4..4/3 box of 30%+ area: the fallback centre crop clamps the
  // ratio to 4/3 -> 13x10.
  const CropBox f = random_resized_crop_box(1000, 10, s, rng);
  CHECK(f.w == 13);
  CHECK(f.h == 10);
  CHECK(f.x == 493);
}

TEST_CASE("RandomResizedCrop with a fixed scale and ratio, then the resize, hand-computed") {
  // scale = 1/4 and ratio = 1 exactly: the box is sqrt(360 * 360 / 4) = 180 square, its corner
  // anywhere in [0, 180] x [0, 180]. No flips, no rotation, no jitter: the output is that box
  // resized to 90x90, i.e. each output pixel the antialiased mean of a 2x2 block.
  TransformSpec s = TransformSpec::train(90);
  s.scale_min = s.scale_max = 0.25f;
  s.ratio_min = s.ratio_max = 1.0f;
  s.hflip = s.vflip = 0;
  s.rotation = 0;
  s.jitter = {};
  const Image in = gray_image(360, 360, [](int x, int y) { return (x + 2 * y) % 256; });
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng a(seed), b(seed);
    const CropBox box = random_resized_crop_box(360, 360, s, a);
    CHECK(box.w == 180);
    CHECK(box.h == 180);
    REQUIRE(box.x >= 0);
    REQUIRE(box.x <= 180);
    REQUIRE(box.y <= 180);
    const Image out = transform_geometry(s, in, b);
    CHECK(out == resize_region(in, box.x, box.y, 180, 180, 90, 90));
  }
  // Shrinking by exactly 2: output (0, 0) weighs input rows/columns 0, 1, 2 by 3/4, 3/4, 1/4
  // (sum 1.75) in each direction, clamped at the edge. On the box at (0, 0): the 3x3 weighted mean
  // of v = x + 2y. By linearity that is wx + 2 wy, with wx = wy = (0*.75 + 1*.75 + 2*.25) / 1.75
  // = 0.714: 0.714 * 3 = 2.14 -> 2.
  CHECK(resize_region(in, 0, 0, 180, 180, 90, 90).at(0, 0)[0] == 2);
}

TEST_CASE("ColorJitter draws: factors in torchvision's ranges, the order a permutation") {
  const ColorJitter j{0.2f, 0.3f, 0.4f, 0.05f};
  Rng rng(3);
  bool moved[4] = {false, false, false, false};
  for (int i = 0; i < 500; ++i) {
    const JitterParams p = draw_jitter(j, rng);
    CHECK(p.brightness >= 0.8f);
    CHECK(p.brightness <= 1.2f);
    CHECK(p.contrast >= 0.7f);
    CHECK(p.contrast <= 1.3f);
    CHECK(p.saturation >= 0.6f);
    CHECK(p.saturation <= 1.4f);
    CHECK(std::abs(p.hue) <= 0.05f);
    std::array<int, 4> sorted = p.order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::array<int, 4>{0, 1, 2, 3});
    for (int k = 0; k < 4; ++k) {
      CHECK(p.active[k]);
      if (p.order[0] == k) moved[k] = true;  // every step comes first sometimes
    }
  }
  for (bool m : moved) CHECK(m);
  // brightness 1.5 (a range [0, 2.5]: the lower bound clamps at 0), nothing else: only step 0.
  const JitterParams b = draw_jitter({1.5f, 0, 0, 0}, rng);
  CHECK(b.active[0]);
  CHECK_FALSE(b.active[1]);
  CHECK_FALSE(b.active[3]);
  // Applying follows the drawn order. Brightness 2 then contrast 0 on a red and a blue pixel:
  // brightness saturates (1 * 2 -> 1), contrast 0 gives the mean gray (0.299 + 0.114) / 2 = 0.2065.
  // Contrast 0 first gives 0.2065 everywhere, then brightness 2 doubles it: 0.413.
  JitterParams p;
  p.brightness = 2.f;
  p.contrast = 0.f;
  p.active[0] = p.active[1] = true;
  p.order = {0, 1, 2, 3};
  std::vector<float> v = {1, 0, 0, 0, 0, 1};
  apply_jitter(v, p);
  for (float x : v) CHECK(x == doctest::Approx(0.2065));
  p.order = {1, 0, 2, 3};
  std::vector<float> w = {1, 0, 0, 0, 0, 1};
  apply_jitter(w, p);
  for (float x : w) CHECK(x == doctest::Approx(0.413));
}

TEST_CASE("the pipeline: evaluation is deterministic, augmentation depends only on the Rng") {
  const Image cell = synth::draw_cell(6, 96, 1, 0);
  const TransformSpec ev = TransformSpec::eval(64);
  std::vector<float> a(ev.output_floats()), b(ev.output_floats());
  Rng r1(1), r2(2);
  transform_into(ev, cell, r1, a);
  transform_into(ev, cell, r2, b);
  CHECK(a == b);
  CHECK(r1.state() == 1);  // evaluation draws nothing
  const TransformSpec tr = TransformSpec::train(64);
  Rng s1(7), s2(7), s3(8);
  std::vector<float> c(tr.output_floats()), d(tr.output_floats()), e(tr.output_floats());
  transform_into(tr, cell, s1, c);
  transform_into(tr, cell, s2, d);
  transform_into(tr, cell, s3, e);
  CHECK(c == d);
  CHECK(c != e);
  std::vector<float> wrong(10);
  CHECK_THROWS_AS(transform_into(tr, cell, s1, wrong), hemo::Error);
  TransformSpec bad = tr;
  bad.jitter.hue = 0.7f;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("hue"), hemo::Error);
}

TEST_CASE("quarter turns: the four orientations equally often, pixels moved exactly, drawn only when asked") {
  TransformSpec s = TransformSpec::train(16);
  s.scale_min = s.scale_max = 1.0f;  // the whole image, no flips, rotation or jitter: only the turn is random
  s.ratio_min = s.ratio_max = 1.0f;
  s.hflip = s.vflip = 0;
  s.rotation = 0;
  s.jitter = {};
  const Image in = gray_image(16, 16, [](int x, int y) { return (7 * x + 13 * y * y) % 251; });
  const Image whole = resize_region(in, 0, 0, 16, 16, 16, 16);
  std::array<Image, 4> turned;
  for (int k = 0; k < 4; ++k) turned[k] = rotate(whole, 90.0 * k);
  CHECK(turned[1].at(0, 0)[0] == whole.at(15, 0)[0]);  // counter-clockwise: the top-right corner to the top-left
  TransformSpec off = s;
  s.quarter_turns = true;
  std::array<int, 4> seen{};
  constexpr int kDraws = 800;
  for (uint64_t seed = 0; seed < kDraws; ++seed) {
    Rng a(seed), b(seed);
    const Image out = transform_geometry(s, in, a);
    CHECK(transform_geometry(off, in, b) == whole);
    // One more draw than without (below(4) never rejects: 2^64 is a multiple of 4), so turning the
    // option off gives the augmentation stream runs had before it existed.
    CHECK(a.state() == b.state() + 0x9E3779B97F4A7C15ull);
    const auto k = std::find(turned.begin(), turned.end(), out) - turned.begin();
    REQUIRE(k < 4);
    ++seen[static_cast<size_t>(k)];
  }
  MESSAGE("quarter turns 0/1/2/3 drawn ", seen[0], "/", seen[1], "/", seen[2], "/", seen[3], " times in ", kDraws);
  for (int n : seen) CHECK(std::abs(n - kDraws / 4) < 60);  // binomial sd 12.2: about 5 sd
}

TEST_CASE("resize and rotation agree with PIL on a real image") {
  const fs::path work = test::scratch_dir("transforms_pil");
  const std::vector<fs::path> src = test::real_or_synthetic_jpegs(work / "synthetic", 1);
  const Image in = load_image(src[0]);
  save_image(work / "in.png", in);
  REQUIRE(test::run_python("pil_transforms.py", {(work / "in.png").string(), work.string()}) == 0);
  auto compare = [&](const Image& mine, const char* name, double tol, int border) {
    const Image pil = load_image(work / name);
    REQUIRE(pil.width == mine.width);
    REQUIRE(pil.height == mine.height);
    double sum = 0;
    size_t n = 0;
    for (int y = border; y < mine.height - border; ++y)
      for (int x = border; x < mine.width - border; ++x)
        for (int c = 0; c < 3; ++c, ++n) sum += std::abs(int(mine.at(x, y)[c]) - int(pil.at(x, y)[c]));
    MESSAGE(std::string(name), ": mean |hemo - PIL| = ", sum / double(n));
    CHECK(sum / double(n) <= tol);
  };
  compare(resize(in, 224, 224), "resize224.png", 0.6, 0);
  compare(resize(in, 97, 61), "resize97x61.png", 0.6, 0);
  compare(resize(in, 500, 520), "resize500x520.png", 0.6, 0);
  compare(resize_region(in, 50, 40, 200, 180, 224, 224), "crop_resize.png", 0.6, 0);
  compare(rotate(in, 30.0), "rotate30.png", 1.0, 2);
  compare(rotate(in, -60.0), "rotate-60.png", 1.0, 2);
}

TEST_CASE("eval_source_box: where the evaluation geometry takes its output from") {
  // PBC's 360x363: the shorter side 360 -> 100, the longer int(100 * 363 / 360) = 100: no crop.
  SourceBox b = eval_source_box(TransformSpec::eval(100), 360, 363);
  CHECK(b.x == 0);
  CHECK(b.y == 0);
  CHECK(b.w == doctest::Approx(360));
  CHECK(b.h == doctest::Approx(363));
  // A resize_shorter larger than the crop: 100x100 -> 60x60, crop 50 at offset 5 (x 100/60).
  TransformSpec s = TransformSpec::eval(50);
  s.resize_shorter = 60;
  b = eval_source_box(s, 100, 100);
  CHECK(b.x == doctest::Approx(5 * 100.0 / 60));
  CHECK(b.w == doctest::Approx(50 * 100.0 / 60));

  // Against the transform itself: a 200x100 image with R = x and G = 2y. Resized to 100x50
  // (scale 2) and cropped at left 25, output pixel (i, j) is centred on input
  // (50 + 2 (j + 0.5), 2 (i + 0.5)); the triangle filter reproduces a linear ramp away from the edges.
  Image img(200, 100);
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 200; ++x) {
      img.at(x, y)[0] = static_cast<uint8_t>(x);
      img.at(x, y)[1] = static_cast<uint8_t>(2 * y);
    }
  const TransformSpec e = TransformSpec::eval(50);
  b = eval_source_box(e, 200, 100);
  CHECK(b.x == doctest::Approx(50));
  CHECK(b.y == doctest::Approx(0));
  CHECK(b.w == doctest::Approx(100));
  CHECK(b.h == doctest::Approx(100));
  Rng rng(1);
  const Image out = transform_geometry(e, img, rng);
  for (int j : {3, 17, 30, 46}) {
    CAPTURE(j);
    const double want_x = b.x + (j + 0.5) * b.w / 50;
    CHECK(std::fabs(out.at(j, 20)[0] - (want_x - 0.5)) <= 1.0);  // the value at pixel centre x - 0.5
  }
  for (int i : {3, 25, 46}) {
    CAPTURE(i);
    const double want_y = b.y + (i + 0.5) * b.h / 50;
    CHECK(std::fabs(out.at(20, i)[1] - 2 * (want_y - 0.5)) <= 2.0);
  }
}
