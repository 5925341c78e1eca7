// Corrupt images whose headers look fine (a JPEG cut after its header, a PNG header followed by
// garbage) pass the scan's header check and fail only when decoded. `hemo train`, `hemo eval` and
// `hemo gradcam` must skip them and go on: each named once, on stderr, and counted at the end;
// gradcam still writes index.html (no orphan overlays). Before, the first one ended the run.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include "data/decode.h"
#include "data/encode.h"
#include "data/io.h"
#include "data/synth.h"
#include "tests/train/train_test_util.h"

using namespace hemo;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {

struct Corrupt {
  fs::path data, cut_jpeg, bad_png;
  fs::path not_image;  // no image header at all: the scan skips it (named twice, on stdout, before)
};

// 8 classes x 6 synthetic JPEGs, then two corrupt files with valid headers in two classes, and a
// text file named .jpg.
const Corrupt& corrupt_data() {
  static const Corrupt c = [] {
    Corrupt x;
    x.data = test::train_work_dir("corrupt_cli") / "data";
    fs::remove_all(x.data);
    data::synth::generate(x.data, 6, 72, 5, "jpg", 2);
    const auto& classes = data::synth::class_names();
    std::vector<fs::path> first;
    for (const auto& e : fs::directory_iterator(x.data / classes[1])) first.push_back(e.path());
    std::sort(first.begin(), first.end());
    const std::vector<uint8_t> jpeg = data::read_file_bytes(first.front());
    x.cut_jpeg = x.data / classes[1] / "zz_cut.jpg";
    data::write_file_atomic(x.cut_jpeg, std::span(jpeg.data(), jpeg.size() * 2 / 3));
    std::vector<uint8_t> png = data::encode_png(data::Image(72, 72, 100));
    png.resize(33);  // signature and IHDR: a valid 72x72 header
    for (int i = 0; i < 300; ++i) png.push_back(static_cast<uint8_t>(i * 37 + 11));
    x.bad_png = x.data / classes[4] / "zz_garbage.png";
    data::write_file_atomic(x.bad_png, png);
    x.not_image = x.data / classes[1] / "zz_text.jpg";
    data::write_file_atomic(x.not_image, std::string("not an image"));
    for (const fs::path& p : {x.cut_jpeg, x.bad_png}) {  // the fixture is what it claims
      const std::vector<uint8_t> b = data::read_file_bytes(p);
      REQUIRE_NOTHROW(data::probe_image(b, p.string()));
      REQUIRE_THROWS_AS(data::decode_image(b, p.string()), hemo::Error);
    }
    return x;
  }();
  return c;
}

// As test::run_captured, with stderr kept whole (the notes come early; run_command keeps its tail).
test::CommandRun run(const std::string& cmd) {
  const fs::path dir = test::train_work_dir("corrupt_cli");
  const fs::path o = dir / cat("stdout-", getpid(), ".txt"), e = dir / cat("stderr-", getpid(), ".txt");
  const int raw = std::system((cmd + " > " + shell_quote(o.string()) + " 2> " + shell_quote(e.string())).c_str());
  test::CommandRun r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = test::read_file(o);
  r.err = test::read_file(e);
  return r;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The three files named exactly once, on stderr, as skipped; the total at the end; nothing on stdout.
void check_reported(const test::CommandRun& r, const std::string& command) {
  const Corrupt& c = corrupt_data();
  for (const fs::path& p : {c.cut_jpeg, c.bad_png, c.not_image}) {
    CHECK_MESSAGE(occurrences(r.err, p.string()) == 1, p.string(), " named ", occurrences(r.err, p.string()),
                  " times:\n", r.err);
    const size_t at = r.err.find("skipped " + p.string() + ": ");
    REQUIRE(at != std::string::npos);
    const std::string note = r.err.substr(at, r.err.find('\n', at) - at);
    CHECK_MESSAGE(std::all_of(note.begin(), note.end(), [](char ch) { return ch >= 0x20 && ch < 0x7F; }),
                  "a note with unprintable bytes: ", note);
    CHECK(r.out.find(p.string()) == std::string::npos);
  }
  CHECK_MESSAGE(r.err.find(command + ": 3 files skipped") != std::string::npos, r.err);
}

std::string train_run() { return (test::train_work_dir("corrupt_cli") / "run").string(); }

const test::CommandRun& trained() {
  static const test::CommandRun r = [] {
    fs::remove_all(train_run());
    return run(shell_quote(HEMO_BIN) + " train --model pbcnet7 --input-size 72 --epochs 2 " +
                              "--batch-size 8 --threads 2 --split 0.5 0.25 0.25 --seed 3 --data " +
                              shell_quote(corrupt_data().data.string()) + " --out " + shell_quote(train_run()));
  }();
  return r;
}

}  // namespace

TEST_CASE("hemo train: corrupt images are skipped mid-epoch, each named once on stderr, and counted") {
  const test::CommandRun& r = trained();
  REQUIRE_MESSAGE(r.status == 0, r.err);
  MESSAGE(r.err);
  check_reported(r, "hemo train");
  CHECK(fs::exists(fs::path(train_run()) / "best.safetensors"));
}

TEST_CASE("hemo eval: corrupt images are skipped, each named once on stderr, and counted") {
  REQUIRE(trained().status == 0);
  const fs::path out = test::train_work_dir("corrupt_cli") / "eval";
  const test::CommandRun r = run(
      shell_quote(HEMO_BIN) + " eval --checkpoint " + shell_quote(train_run() + "/best.safetensors") +
      " --split all --threads 2 --data " + shell_quote(corrupt_data().data.string()) + " --out " +
      shell_quote(out.string()));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  MESSAGE(r.err);
  check_reported(r, "hemo eval");
  const std::string csv = test::read_file(out / "predictions.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 8 * 6 + 1);  // the 48 good images and the header
}

TEST_CASE("hemo gradcam: a corrupt image is skipped; the others' files and index.html are written") {
  REQUIRE(trained().status == 0);
  const Corrupt& c = corrupt_data();
  const fs::path out = test::train_work_dir("corrupt_cli") / "gradcam";
  fs::remove_all(out);
  const test::CommandRun r = run(
      shell_quote(HEMO_BIN) + " gradcam --checkpoint " + shell_quote(train_run() + "/best.safetensors") +
      " --batch-size 4 --out " + shell_quote(out.string()) + " " + shell_quote(c.cut_jpeg.parent_path().string()) +
      " " + shell_quote(c.bad_png.parent_path().string()));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  MESSAGE(r.err);
  check_reported(r, "hemo gradcam");
  CHECK(fs::exists(out / "index.html"));
  size_t overlays = 0;
  for (const auto& e : fs::directory_iterator(out))
    overlays += e.path().filename().string().find("_overlay.png") != std::string::npos;
  CHECK(overlays == 12);
  CHECK(!fs::exists(out / "zz_cut_overlay.png"));
  CHECK(!fs::exists(out / "zz_garbage_overlay.png"));
  const std::string csv = test::read_file(out / "predictions.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 12 + 1);
  CHECK(r.out.find("12 images") != std::string::npos);
}

TEST_CASE("hemo predict: unreadable and missing images are reported in their place; the others are classified") {
  REQUIRE(trained().status == 0);
  const Corrupt& c = corrupt_data();
  const fs::path good_dir = c.cut_jpeg.parent_path();
  fs::path good;
  for (const auto& e : fs::directory_iterator(good_dir))
    if (e.path() != c.cut_jpeg && e.path() != c.bad_png && e.path() != c.not_image) good = e.path();
  REQUIRE(!good.empty());
  const fs::path missing = good_dir / "no_such_image.png";
  const std::string args = " --checkpoint " + shell_quote(train_run() + "/best.safetensors") + " " +
                           shell_quote(good.string()) + " " + shell_quote(c.cut_jpeg.string()) + " " +
                           shell_quote(missing.string());
  const test::CommandRun json = run(shell_quote(HEMO_BIN) + " predict --json" + args);
  CHECK(json.status == 1);
  CHECK_MESSAGE(json.err.find("2 of 3 images could not be classified") != std::string::npos, json.err);
  CHECK(occurrences(json.err, c.cut_jpeg.string()) == 1);
  CHECK(occurrences(json.err, missing.string()) == 1);
  const nlohmann::json all = nlohmann::json::parse(json.out);
  REQUIRE(all.size() == 3);
  CHECK(all[0]["path"] == good.string());
  CHECK(all[0]["top"].size() == 3);
  CHECK(all[1]["path"] == c.cut_jpeg.string());
  CHECK(all[1].contains("error"));
  CHECK(all[2]["path"] == missing.string());
  CHECK(all[2].contains("error"));
  const test::CommandRun table = run(shell_quote(HEMO_BIN) + " predict" + args);
  CHECK(table.status == 1);
  CHECK(table.out.find(good.string()) != std::string::npos);
  CHECK(table.out.find(c.cut_jpeg.string() + ": error: ") != std::string::npos);
}
