// Test-time augmentation (data/tta.h): the eight views against independent definitions (mirrors,
// a quarter turn), and the averaged probabilities: their definition, and the property that makes
// them worth having: averaged over the whole dihedral group, a prediction no longer depends on
// how the cell was turned, while the plain one does.
#include "data/tta.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/batch.h"
#include "models/registry.h"
#include "tests/support/random.h"
#include "train/evaluate.h"

using namespace hemo;
using namespace hemo::data;
using hemo::train::batch_probabilities;

namespace {

constexpr int64_t kN = 2, kC = 3, kS = 5;

std::vector<float> images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  return test::random_tensor({n, c, h, w}, seed, DType::f32).to_vector<float>();
}

std::vector<float> view_of(const std::vector<float>& x, int64_t n, int64_t c, int64_t h, int64_t w, int v) {
  std::vector<float> out(x.size());
  dihedral_view(x.data(), n, c, h, w, v, out.data());
  return out;
}

// numpy's rot90 (a quarter turn counter-clockwise) of each plane: out[y][x] = in[x][s - 1 - y].
std::vector<float> rot90(const std::vector<float>& x, int64_t planes, int64_t s) {
  std::vector<float> out(x.size());
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < s; ++y)
      for (int64_t c = 0; c < s; ++c) out[(p * s + y) * s + c] = x[(p * s + c) * s + (s - 1 - y)];
  return out;
}

data::Batch batch_of(const std::vector<float>& x, int64_t n, int64_t c, int64_t s, std::vector<int64_t> labels) {
  data::Batch b;
  b.images = data::FloatBuffer::heap(x.size());
  std::copy(x.begin(), x.end(), b.images.data);
  b.n = n, b.c = c, b.h = s, b.w = s;
  b.labels = std::move(labels);
  return b;
}

double worst_difference(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, std::fabs(static_cast<double>(a[i][k]) - b[i][k]));
  return worst;
}

}  // namespace

TEST_CASE("tta: the eight views are the mirrors, quarter turns and diagonal mirrors of the square") {
  const std::vector<float> x = images(kN, kC, kS, kS, 3);
  std::vector<std::vector<float>> views;
  for (int v = 0; v < 8; ++v) views.push_back(view_of(x, kN, kC, kS, kS, v));
  CHECK(views[0] == x);
  // Views 1 and 2 are the mirrors, written out.
  for (int64_t p = 0; p < kN * kC; ++p)
    for (int64_t y = 0; y < kS; ++y)
      for (int64_t c = 0; c < kS; ++c) {
        CHECK(views[1][(p * kS + y) * kS + c] == x[(p * kS + y) * kS + (kS - 1 - c)]);
        CHECK(views[2][(p * kS + y) * kS + c] == x[(p * kS + (kS - 1 - y)) * kS + c]);
      }
  // View 5 is a quarter turn: four of them give the image back, two the half turn (view 3).
  CHECK(views[5] == rot90(x, kN * kC, kS));
  const std::vector<float> twice = view_of(views[5], kN, kC, kS, kS, 5);
  CHECK(twice == views[3]);
  CHECK(view_of(view_of(twice, kN, kC, kS, kS, 5), kN, kC, kS, kS, 5) == x);
  // Eight different images, and a group: any view of any view is one of the eight.
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      if (a < b) CHECK(views[static_cast<size_t>(a)] != views[static_cast<size_t>(b)]);
      const std::vector<float> ab = view_of(views[static_cast<size_t>(a)], kN, kC, kS, kS, b);
      CHECK(std::count(views.begin(), views.end(), ab) == 1);
    }
  CHECK_THROWS_WITH_AS(view_of(images(1, 1, 4, 6, 1), 1, 1, 4, 6, 4), doctest::Contains("square"), Error);
  CHECK_THROWS_WITH_AS(parse_tta("rot"), doctest::Contains("none, flips or dihedral"), Error);
  CHECK(tta_views(parse_tta("flips")) == 4);
  CHECK(tta_views(parse_tta("dihedral")) == 8);
}

TEST_CASE("tta: the probabilities are the mean over the views; dihedral ones do not depend on a quarter turn") {
  const int64_t s = 65, n = 3;  // pbcnet7's smallest input: its head flattens, so it is not turn-invariant
  Generator gen(11, 1);
  models::ModelOptions o;
  o.input_size = s;
  nn::ModulePtr model = models::create_model("pbcnet7", 8, o, gen);
  model->eval();
  const std::vector<float> x = images(n, 3, s, s, 21);
  const std::vector<int64_t> labels = {1, 6, 3};
  auto probs = [&](const std::vector<float>& pixels, Tta tta, double* loss = nullptr) {
    double sum = 0;
    auto rows = batch_probabilities(*model, batch_of(pixels, n, 3, s, labels), Device::cpu(),
                                    MemoryFormat::contiguous, tta, sum);
    if (loss) *loss = sum;
    return rows;
  };
  // flips: the mean of the plain probabilities of views 0..3; the loss that of the mean.
  double loss = 0;
  const auto flips = probs(x, Tta::flips, &loss);
  std::vector<std::vector<double>> mean(static_cast<size_t>(n), std::vector<double>(8));
  for (int v = 0; v < 4; ++v) {
    const auto plain = probs(view_of(x, n, 3, s, s, v), Tta::none);
    for (size_t i = 0; i < mean.size(); ++i)
      for (size_t k = 0; k < 8; ++k) mean[i][k] += plain[i][k] / 4.0;
  }
  double worst = 0, expect_loss = 0;
  for (size_t i = 0; i < mean.size(); ++i) {
    for (size_t k = 0; k < 8; ++k) worst = std::max(worst, std::fabs(flips[i][k] - mean[i][k]));
    expect_loss -= std::log(mean[i][static_cast<size_t>(labels[i])]);
  }
  MESSAGE("flips against the mean of four plain predictions: worst ", worst, "; loss ", loss, " against ", expect_loss);
  CHECK(worst <= 1e-6);
  CHECK(loss == doctest::Approx(expect_loss).epsilon(1e-5));
  // A quarter turn changes the plain prediction, not the dihedral one.
  const std::vector<float> turned = rot90(x, n * 3, s);
  const double plain_change = worst_difference(probs(x, Tta::none), probs(turned, Tta::none));
  const double dihedral_change = worst_difference(probs(x, Tta::dihedral), probs(turned, Tta::dihedral));
  MESSAGE("a quarter turn moves the plain probabilities by up to ", plain_change, ", the dihedral ones by ",
          dihedral_change);
  CHECK(plain_change > 1e-3);
  CHECK(dihedral_change <= 1e-6);
}
