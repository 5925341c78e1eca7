// The shipped blood-cell models (weights/MODELS.md, weights/shipped.h), from the outside, on real
// PBC images of their own held-out test split (weights/pbc128-split.csv; pbc-mini is a subset of
// pbc-128, so its images may have been trained on and are not used here):
//   - weights/ holds them (pbcnet7-pbc128 at least), each under 15 MB, self-describing;
//   - `hemo eval` on the split's test images reproduces the accuracy each file records (to two
//     images: another CPU's rounding may move a borderline one) on the same number of images;
//   - hemo-infer and `hemo predict` without a model name use the best of them, and predict the
//     classes `hemo eval` predicted for those images;
//   - `hemo eval --ensemble shipped` takes every one of them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/train/train_test_util.h"
#include "weights/shipped.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {

const fs::path kWeights = fs::path(HEMO_SOURCE_DIR) / "weights";
const fs::path kData = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-128";

fs::path work_dir(const std::string& sub) {
  const fs::path p = fs::path(HEMO_TEST_WORK_DIR) / "shipped" / sub;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string q(const std::string& s) { return test::shell_quote(s); }

// `hemo eval` of one model file (or "--ensemble shipped") on the test split: its metrics.json and
// its predicted class per image path.
struct Evaluation {
  nlohmann::json metrics;
  std::map<std::string, std::string> predicted;
  std::string out, err;
};

Evaluation evaluate(const std::string& model_args, const std::string& manifest, const fs::path& out) {
  const test::CommandRun r =
      test::run_captured(cat("HEMO_WEIGHTS_DIR=", q(kWeights.string()), " ", q(HEMO_BIN), " eval ", model_args,
                             " --data ", q(kData.string()), " --manifest ", q(manifest), " --split test --out ",
                             q(out.string())));
  INFO("hemo eval " << model_args << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status == 0);
  Evaluation e;
  e.out = r.out;
  e.err = r.err;
  std::ifstream m(out / "metrics.json");
  e.metrics = nlohmann::json::parse(m);
  std::ifstream p(out / "predictions.csv");
  std::string line;
  std::getline(p, line);  // header: path,true,predicted,...
  while (std::getline(p, line)) {
    std::stringstream s(line);
    std::string path, truth, pred;
    std::getline(s, path, ',');
    std::getline(s, truth, ',');
    std::getline(s, pred, ',');
    e.predicted[path] = pred;
  }
  return e;
}

// The top-1 class per path of a `--json` prediction array (hemo predict, hemo-infer).
std::map<std::string, std::string> top1(const std::string& json_text) {
  std::map<std::string, std::string> out;
  for (const auto& item : nlohmann::json::parse(json_text)) out[item.at("path")] = item.at("top").at(0).at("class");
  return out;
}

}  // namespace

TEST_CASE("shipped models: in weights/, and as accurate on their own test split as they record") {
  REQUIRE_MESSAGE(fs::is_directory(kData), "the PBC images are not at ", kData.string(), " (../shared beside the checkout)");
  const std::vector<weights::ShippedModel> models = weights::shipped_models_in(kWeights);
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  INFO("shipped models found in " << kWeights.string() << ": " << names.size());
  REQUIRE(std::find(names.begin(), names.end(), "pbcnet7-pbc128") != names.end());

  for (const auto& m : models) {
    CAPTURE(m.name);
    CHECK(fs::file_size(m.file) < 15'000'000u);
    CHECK(m.meta.class_names.size() == 8);
    const fs::path manifest = kWeights / m.manifest;
    REQUIRE_MESSAGE(fs::exists(manifest), manifest.string(), " is missing");
    const Evaluation e = evaluate(cat("--checkpoint ", q(m.file.string())), manifest.string(), work_dir(m.name));
    const double acc = e.metrics.at("accuracy").get<double>();
    const int64_t total = e.metrics.at("total").get<int64_t>();
    MESSAGE(m.name, ": test accuracy ", acc, " on ", total, " images (recorded ", m.test_accuracy, ")");
    CHECK(total == m.test_images);
    CHECK(std::abs(acc - m.test_accuracy) <= 2.0 / static_cast<double>(total) + 1e-12);
    CHECK(e.predicted.size() == static_cast<size_t>(total));
  }
}

TEST_CASE("shipped models: hemo-infer and hemo predict use the best one when none is named") {
  const std::vector<weights::ShippedModel> models = weights::shipped_models_in(kWeights);
  REQUIRE(!models.empty());
  const weights::ShippedModel& best = models.front();
  const Evaluation e = evaluate(cat("--checkpoint ", q(best.file.string())), (kWeights / best.manifest).string(),
                                work_dir("best"));
  // Three test images of each class, in the split's order.
  std::map<std::string, int> per_class;
  std::vector<std::string> picked;
  std::string list;
  for (const auto& [path, pred] : e.predicted) {
    const std::string cls = fs::path(path).parent_path().filename().string();
    if (per_class[cls]++ < 3) {
      picked.push_back(path);
      list += cat(" ", q(path));
    }
  }
  REQUIRE(picked.size() == 24);
  const std::string env = cat("HEMO_WEIGHTS_DIR=", q(kWeights.string()), " ");
  const test::CommandRun infer = test::run_captured(cat(env, q(HEMO_INFER_CPU_BIN), " --json --top 1", list));
  INFO("hemo-infer stderr: " << infer.err);
  REQUIRE(infer.status == 0);
  CHECK(infer.err.find(cat("using the shipped model ", best.name)) != std::string::npos);
  const test::CommandRun predict = test::run_captured(cat(env, q(HEMO_BIN), " predict --json --top 1", list));
  INFO("hemo predict stderr: " << predict.err);
  REQUIRE(predict.status == 0);
  CHECK(predict.err.find(cat("using the shipped model ", best.name)) != std::string::npos);
  // The same classes with the activations stored channels-last (--channels-last).
  const test::CommandRun nhwc = test::run_captured(cat(env, q(HEMO_BIN), " predict --json --top 1 --channels-last", list));
  INFO("hemo predict --channels-last stderr: " << nhwc.err);
  REQUIRE(nhwc.status == 0);
  const test::CommandRun infer_nhwc =
      test::run_captured(cat(env, q(HEMO_INFER_CPU_BIN), " --json --top 1 --channels-last", list));
  INFO("hemo-infer --channels-last stderr: " << infer_nhwc.err);
  REQUIRE(infer_nhwc.status == 0);
  const auto from_infer = top1(infer.out), from_predict = top1(predict.out), from_nhwc = top1(nhwc.out);
  const auto from_infer_nhwc = top1(infer_nhwc.out);
  int agree = 0;
  for (const auto& path : picked) {
    CAPTURE(path);
    CHECK(from_infer.at(path) == e.predicted.at(path));
    CHECK(from_predict.at(path) == e.predicted.at(path));
    CHECK(from_nhwc.at(path) == e.predicted.at(path));
    CHECK(from_infer_nhwc.at(path) == e.predicted.at(path));
    agree += from_infer.at(path) == e.predicted.at(path);
  }
  MESSAGE(best.name, ": hemo-infer agrees with hemo eval on ", agree, " of ", picked.size(), " test images");

  // Nowhere to look: the message says where it looked and what to do.
  const fs::path empty = work_dir("empty");
  const test::CommandRun none =
      test::run_captured(cat("HEMO_WEIGHTS_DIR=", q(empty.string()), " ", q(HEMO_INFER_CPU_BIN), " ", q(picked.front())));
  CHECK(none.status == 1);
  CHECK(none.err.find(cat("no shipped model found (looked in ", empty.string())) != std::string::npos);
}

TEST_CASE("shipped models: hemo eval --ensemble shipped takes every one") {
  const std::vector<weights::ShippedModel> models = weights::shipped_models_in(kWeights);
  REQUIRE(!models.empty());
  const Evaluation e = evaluate("--ensemble shipped", (kWeights / models.front().manifest).string(), work_dir("ensemble"));
  for (const auto& m : models) CHECK(e.err.find(cat("shipped model ", m.name)) != std::string::npos);
  const double acc = e.metrics.at("accuracy").get<double>();
  MESSAGE("ensemble of ", models.size(), " shipped models: test accuracy ", acc);
  CHECK(e.metrics.at("total").get<int64_t>() == models.front().test_images);
  if (models.size() == 1) CHECK(std::abs(acc - models.front().test_accuracy) <= 2.0 / models.front().test_images + 1e-12);
  // "members right per image: 3 of 3: N3, 2 of 3: N2, ...": every image counted once, and the
  // vote gets right every image all members did and misses every one none did.
  if (models.size() > 1) {
    std::map<int64_t, int64_t> right;  // members right -> images
    const std::regex count(R"((\d+) of (\d+): (\d+))");
    for (auto it = std::sregex_iterator(e.out.begin(), e.out.end(), count); it != std::sregex_iterator(); ++it) {
      CHECK(std::stoll((*it)[2]) == static_cast<int64_t>(models.size()));
      right[std::stoll((*it)[1])] = std::stoll((*it)[3]);
    }
    REQUIRE(right.size() == models.size() + 1);
    int64_t images = 0;
    for (const auto& [r, n] : right) images += n;
    MESSAGE("images right by none of the members: ", right[0], ", by all: ", right.rbegin()->second);
    CHECK(images == models.front().test_images);
    const double correct = acc * static_cast<double>(images);
    CHECK(correct >= static_cast<double>(right.rbegin()->second) - 0.5);
    CHECK(correct <= static_cast<double>(images - right[0]) + 0.5);
  }
}
