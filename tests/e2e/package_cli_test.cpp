// `hemo package` (tools/cmd_package.cpp) from the outside: a finished run becomes a shipped model
// file with its split manifest beside it, whether the run wrote its own split.csv or was trained
// on a given --manifest; a run on another split is refused, naming both files; --storage fp16 writes
// the same weights in 16 bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/train/train_test_util.h"
#include "weights/shipped.h"
#include "weights/tensor_io.h"

using namespace hemo;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {
std::string hemo_cmd(const std::string& args) { return shell_quote(HEMO_BIN) + " " + args; }

// One epoch of pbcnet7 on pbc-mini at 65x65 into `out`, with `extra` flags.
void train_small(const fs::path& data, const fs::path& out, const std::string& extra) {
  std::string o, e;
  const int rc = test::run_command(hemo_cmd(cat("train --model pbcnet7 --epochs 1 --input-size 65 --batch-size 16 --data ",
                                                shell_quote(data.string()), " --out ", shell_quote(out.string()), " ",
                                                extra)),
                                   &o, &e);
  REQUIRE_MESSAGE(rc == 0, e);
}
}  // namespace

TEST_CASE("hemo package: runs with their own split or a given manifest become shipped models; another split is refused") {
  const fs::path data = fs::path(HEMO_SHARED_DATA_DIR) / "pbc-mini";
  REQUIRE_MESSAGE(fs::is_directory(data), "the PBC images are not at ", data.string(), " (../shared beside the checkout)");
  const fs::path work = test::train_work_dir("package");
  fs::remove_all(work);  // a previous run's folders would be refused as existing runs
  const fs::path pkg = work / "weights";
  fs::create_directories(pkg);

  train_small(data, work / "own", "");  // writes own/split.csv
  std::string out, err;
  int rc = test::run_command(hemo_cmd(cat("package --run ", shell_quote((work / "own").string()), " --out ",
                                          shell_quote((pkg / "first.safetensors").string()))),
                             &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  CHECK(test::read_file(pkg / "pbc128-split.csv") == test::read_file(work / "own" / "split.csv"));

  // --storage fp16: the same weights in 16 bits, each within one rounding (2^-11 relative; 2^-25 below
  // half's normal range), in a file of about half the size, loading as any model file does.
  const fs::path half = work / "half";
  fs::create_directories(half);
  rc = test::run_command(hemo_cmd(cat("package --storage fp16 --run ", shell_quote((work / "own").string()), " --out ",
                                      shell_quote((half / "first.safetensors").string()))),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);
  {
    const weights::TensorFile f32 = weights::load_tensors((pkg / "first.safetensors").string());
    const weights::TensorFile f16 = weights::load_tensors((half / "first.safetensors").string());
    CHECK(f32.metadata.at("hemo.shipped.storage") == "fp32");
    CHECK(f16.metadata.at("hemo.shipped.storage") == "fp16");
    REQUIRE(f16.tensors.size() == f32.tensors.size());
    double worst = 0;
    for (const auto& [name, t] : f32.tensors) {
      REQUIRE_MESSAGE(f16.find(name), name, " is missing from the fp16 file");
      const std::vector<float> a = t.to_vector<float>(), b = f16.find(name)->to_vector<float>();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(static_cast<double>(b[i]) - a[i]) /
                                    std::max(std::fabs(static_cast<double>(a[i])), std::ldexp(1.0, -14)));
    }
    MESSAGE("fp16 storage: worst relative change of a weight ", worst, "; file ",
            fs::file_size(half / "first.safetensors"), " bytes against ", fs::file_size(pkg / "first.safetensors"));
    CHECK(worst <= std::ldexp(1.0, -11));
    CHECK(worst > 0);
    CHECK(fs::file_size(half / "first.safetensors") < fs::file_size(pkg / "first.safetensors") * 6 / 10);
    CHECK(weights::shipped_models_in(half).size() == 1);
  }
  rc = test::run_command(hemo_cmd(cat("package --storage fp8 --run ", shell_quote((work / "own").string()), " --out ",
                                      shell_quote((half / "second.safetensors").string()))),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("fp8") != std::string::npos, err);
  CHECK_FALSE(fs::exists(half / "second.safetensors"));

  // Trained on the shipped manifest: the run writes no split.csv of its own, and packages anyway.
  train_small(data, work / "given", cat("--manifest ", shell_quote((pkg / "pbc128-split.csv").string())));
  CHECK_FALSE(fs::exists(work / "given" / "split.csv"));
  rc = test::run_command(hemo_cmd(cat("package --run ", shell_quote((work / "given").string()), " --out ",
                                      shell_quote((pkg / "second.safetensors").string()))),
                         &out, &err);
  REQUIRE_MESSAGE(rc == 0, err);

  const std::vector<weights::ShippedModel> models = weights::shipped_models_in(pkg);
  REQUIRE(models.size() == 2);
  for (const auto& m : models) {
    CAPTURE(m.name);
    CHECK((m.name == "first" || m.name == "second"));
    CHECK(m.manifest == "pbc128-split.csv");
    CHECK(m.test_images > 0);
    CHECK(m.test_accuracy >= 0);
    CHECK(m.test_accuracy <= 1);
  }

  // Another seed, another split: refused, and nothing is written.
  train_small(data, work / "other", "--seed 3");
  rc = test::run_command(hemo_cmd(cat("package --run ", shell_quote((work / "other").string()), " --out ",
                                      shell_quote((pkg / "third.safetensors").string()))),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("holds another split than") != std::string::npos, err);
  CHECK_MESSAGE(err.find((work / "other" / "split.csv").string()) != std::string::npos, err);
  CHECK_FALSE(fs::exists(pkg / "third.safetensors"));

  // A run whose given manifest has since gone: the error names it.
  fs::copy_file(pkg / "pbc128-split.csv", work / "moved.csv");
  train_small(data, work / "moved", cat("--manifest ", shell_quote((work / "moved.csv").string())));
  fs::remove(work / "moved.csv");
  rc = test::run_command(hemo_cmd(cat("package --run ", shell_quote((work / "moved").string()), " --out ",
                                      shell_quote((pkg / "fourth.safetensors").string()))),
                         &out, &err);
  CHECK(rc != 0);
  CHECK_MESSAGE(err.find("moved.csv: the run's split manifest is missing") != std::string::npos, err);
}
