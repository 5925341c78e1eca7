// Split manifests: stratified counts, reproducibility, CSV round trips and errors, reuse, and
// folders that arrive already split.
#include <doctest/doctest.h>

#include "core/error.h"
#include "data/manifest.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {
// A fake scanned folder: class c has sizes[c] files (nothing on disk).
ImageFolder fake_folder(const std::vector<int>& sizes) {
  ImageFolder f;
  f.root = "/data/root";
  for (size_t c = 0; c < sizes.size(); ++c) {
    f.classes.push_back("class" + std::to_string(c));
    for (int i = 0; i < sizes[c]; ++i)
      f.samples.push_back({(f.root / f.classes[c] / ("img" + std::to_string(i) + ".jpg")).string(),
                           static_cast<int64_t>(c)});
  }
  return f;
}
}  // namespace

TEST_CASE("splits are stratified per class with largest-remainder counts") {
  const ImageFolder f = fake_folder({25, 10, 7, 2});
  const Manifest m = make_split(f, {}, 1);
  const auto c = m.counts();
  CHECK(c[0] == std::array<int64_t, 3>{18, 5, 2});  // 17.5 / 5 / 2.5
  CHECK(c[1] == std::array<int64_t, 3>{7, 2, 1});
  CHECK(c[2] == std::array<int64_t, 3>{5, 1, 1});   // 4.9 / 1.4 / 0.7
  CHECK(c[3] == std::array<int64_t, 3>{2, 0, 0});   // 1.4 / 0.4 / 0.2
  const Manifest paper = make_split(f, {0.64, 0.24, 0.12}, 1);
  CHECK(paper.counts()[0] == std::array<int64_t, 3>{16, 6, 3});
  CHECK(m.entries.size() == 44);
  CHECK(m.samples(Split::Train).size() == 32);
  CHECK(m.samples(Split::Test)[0].path.rfind("/data/root/class0/img", 0) == 0);
}

TEST_CASE("splits are reproducible for a seed and change with it") {
  const ImageFolder f = fake_folder({30, 30, 30});
  const std::string a = make_split(f, {}, 42).to_csv();
  CHECK(a == make_split(f, {}, 42).to_csv());
  CHECK(a != make_split(f, {}, 43).to_csv());
  CHECK(a.rfind("path,class,split\nclass0/", 0) == 0);
  CHECK_THROWS_WITH_AS(make_split(f, {0.5, 0.2, 0.2}, 1), doctest::Contains("must sum to 1"), hemo::Error);
  CHECK_THROWS_AS(make_split(f, {1.2, -0.2, 0}, 1), hemo::Error);
}

TEST_CASE("manifest CSV round trip, quoting and errors") {
  Manifest m;
  m.root = "/r";
  m.classes = {"a,b", "q\"x"};
  m.entries = {{"a,b/one, two.jpg", "a,b", Split::Train}, {"q\"x/3.png", "q\"x", Split::Test}};
  const std::string csv = m.to_csv();
  CHECK(csv == "path,class,split\n\"a,b/one, two.jpg\",\"a,b\",train\n\"q\"\"x/3.png\",\"q\"\"x\",test\n");
  const Manifest back = parse_manifest(csv, "/r", "m.csv");
  CHECK(back.classes == m.classes);
  REQUIRE(back.entries.size() == 2);
  CHECK(back.entries[0].path == "a,b/one, two.jpg");
  CHECK(back.entries[1].split == Split::Test);
  CHECK(parse_manifest("path,class,split\r\nx/1.jpg,x,val\r\ny/2.jpg,y,train", "/r", "m").entries.size() == 2);
  CHECK_THROWS_WITH_AS(parse_manifest("file,label\n", "/r", "m.csv"),
                       doctest::Contains("m.csv:1: not a split manifest"), hemo::Error);
  CHECK_THROWS_WITH_AS(parse_manifest("path,class,split\nx/1.jpg,x,val\ny/2.jpg,y,dev\n", "/r", "m.csv"),
                       doctest::Contains("m.csv:3: split 'dev'"), hemo::Error);
  CHECK_THROWS_WITH_AS(parse_manifest("path,class,split\nx/1.jpg,x\n", "/r", "m.csv"),
                       doctest::Contains("m.csv:2: expected 3 fields"), hemo::Error);
  CHECK_THROWS_WITH_AS(parse_manifest("path,class,split\n\"x/1.jpg,x,val\n", "/r", "m.csv"),
                       doctest::Contains("unterminated"), hemo::Error);
}

TEST_CASE("load_or_create_manifest writes once and reuses") {
  const fs::path root = test::synthetic_folder("manifest_reuse", 10);
  const fs::path csv = test::scratch_dir("manifest_reuse_out") / "split.csv";
  SplitOptions opts;
  opts.seed = 3;
  const Manifest first = load_or_create_manifest(root, csv, opts);
  REQUIRE(fs::exists(csv));
  CHECK(first.entries.size() == 80);
  for (const auto& c : first.counts()) CHECK(c == std::array<int64_t, 3>{7, 2, 1});
  // Another seed is ignored: the manifest on disk wins.
  opts.seed = 99;
  const Manifest again = load_or_create_manifest(root, csv, opts);
  CHECK(again.to_csv() == first.to_csv());
  CHECK(again.samples(Split::Val) .size() == 16);
  // A file that disappeared is a clear error.
  fs::remove(root / first.entries[0].path);
  CHECK_THROWS_WITH_AS(load_or_create_manifest(root, csv, opts),
                       doctest::Contains("delete the manifest to re-split"), hemo::Error);
}

TEST_CASE("a folder already split into train/val/test is taken as it is") {
  const fs::path root = test::scratch_dir("manifest_presplit");
  for (const char* split : {"train", "val", "test"})
    for (const char* cls : {"a", "b"})
      for (int i = 0; i < (std::string(split) == "train" ? 3 : 1); ++i)
        save_image(root / split / cls / (std::to_string(i) + ".png"), Image(4, 4, 1));
  CHECK(is_presplit_folder(root));
  const Manifest m = load_or_create_manifest(root, "", {});
  CHECK(m.classes == std::vector<std::string>{"a", "b"});
  CHECK(m.samples(Split::Train).size() == 6);
  CHECK(m.samples(Split::Val).size() == 2);
  CHECK(m.samples(Split::Test).size() == 2);
  CHECK(m.entries[0].path == "train/a/0.png");
  // A class that train/ lacks is an error.
  save_image(root / "val" / "c" / "0.png", Image(4, 4, 1));
  CHECK_THROWS_WITH_AS(load_or_create_manifest(root, "", {}), doctest::Contains("class 'c' is not in"),
                       hemo::Error);
  // An ordinary ImageFolder is not pre-split.
  CHECK_FALSE(is_presplit_folder(root / "train"));
}

TEST_CASE("pbc-mini splits 25 per class into 18/5/2 and stays stratified") {
  const fs::path real = test::pbc_mini();
  if (real.empty()) return;
  std::vector<Skipped> skipped;
  const fs::path csv = test::scratch_dir("manifest_pbc") / "pbc-mini.csv";
  SplitOptions opts;
  opts.seed = 2024;
  const Manifest m = load_or_create_manifest(real, csv, opts, &skipped);
  CHECK(skipped.size() == 1);
  CHECK(m.classes.size() == 8);
  for (const auto& c : m.counts()) CHECK(c == std::array<int64_t, 3>{18, 5, 2});
  CHECK(read_manifest(csv, real).to_csv() == m.to_csv());
}
