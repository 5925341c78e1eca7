// ImageFolder and symbolic links: a link back to the root, or to its own folder, must not be
// followed (before, a link to the root put one image under several classes and into train, val
// and test at once); a file reached twice is kept once, the second path reported naming the first;
// a link to a folder outside the dataset is still followed.
#include <doctest/doctest.h>

#include <set>
#include <sys/stat.h>

#include "core/error.h"
#include "data/image_folder.h"
#include "data/manifest.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {
void put_png(const fs::path& p, int seed) {
  fs::create_directories(p.parent_path());
  save_image(p, Image(8, 6, static_cast<uint8_t>(seed)));
}

FileId id_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

const Skipped* skipped_entry(const ImageFolder& f, const fs::path& p) {
  for (const Skipped& k : f.skipped)
    if (k.path == p.string()) return &k;
  return nullptr;
}
}  // namespace

TEST_CASE("a link loop is not followed, a file linked twice is kept once, an outside folder is followed") {
  const fs::path base = test::scratch_dir("folder_links");
  const fs::path root = base / "data", outside = base / "elsewhere";
  put_png(root / "a" / "1.png", 1);
  put_png(root / "a" / "2.png", 2);
  put_png(root / "b" / "3.png", 3);
  put_png(root / "b" / "4.png", 4);
  put_png(outside / "5.png", 5);
  fs::create_directory_symlink(root, root / "a" / "loop");        // back to the dataset root
  fs::create_directory_symlink(root / "b", root / "b" / "self");  // back to its own folder
  fs::create_symlink(root / "a" / "1.png", root / "b" / "dup.png");
  fs::create_directory_symlink(outside, root / "b" / "more");     // a real use: followed

  const ImageFolder f = scan_image_folder(root);
  MESSAGE(f.summary(), "\n", f.skipped_report());
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
  for (const Sample& s : f.samples) paths.push_back(s.path), labels.push_back(s.label);
  CHECK(paths == std::vector<std::string>{(root / "a" / "1.png").string(), (root / "a" / "2.png").string(),
                                          (root / "b" / "3.png").string(), (root / "b" / "4.png").string(),
                                          (root / "b" / "more" / "5.png").string()});
  CHECK(labels == std::vector<int64_t>{0, 0, 1, 1, 1});
  std::set<FileId> ids;
  for (const Sample& s : f.samples) CHECK_MESSAGE(ids.insert(id_of(s.path)).second, s.path, " is a second copy");

  const Skipped* dup = skipped_entry(f, root / "b" / "dup.png");
  REQUIRE_MESSAGE(dup, "the duplicate b/dup.png is not reported");
  CHECK(dup->reason.find("the same file as " + (root / "a" / "1.png").string()) != std::string::npos);
  for (const fs::path& link : {root / "a" / "loop", root / "b" / "self"}) {
    const Skipped* k = skipped_entry(f, link);
    REQUIRE_MESSAGE(k, link.string(), ": the loop is not reported");
    CHECK(k->reason.find("already scanned") != std::string::npos);
  }
  CHECK(f.skipped.size() == 3);

  // Split: every image in exactly one split and one class.
  const Manifest m = make_split(f, {0.4, 0.3, 0.3}, 7);
  std::set<FileId> in_split;
  for (const ManifestEntry& e : m.entries)
    CHECK_MESSAGE(in_split.insert(id_of((root / e.path).string())).second, e.path, " is in the split twice");
  CHECK(m.entries.size() == 5);
}

TEST_CASE("a pre-split folder: a link from one split into another is not followed, a shared file stays in train") {
  const fs::path root = test::scratch_dir("presplit_links");
  for (const char* c : {"a", "b"}) {
    put_png(root / "train" / c / "t1.png", 1);
    put_png(root / "train" / c / "t2.png", 2);
    put_png(root / "val" / c / "v.png", 3);
    put_png(root / "test" / c / "x.png", 4);
  }
  fs::create_directory_symlink(root / "train" / "a", root / "val" / "a" / "linked");
  fs::create_symlink(root / "train" / "b" / "t1.png", root / "test" / "b" / "t1.png");
  std::vector<Skipped> skipped;
  const Manifest m = scan_presplit_folder(root, {}, &skipped);
  std::string report;
  for (const Skipped& k : skipped) report += k.reason + "\n";
  MESSAGE(report);
  std::set<FileId> ids;
  for (const ManifestEntry& e : m.entries)
    CHECK_MESSAGE(ids.insert(id_of((root / e.path).string())).second, e.path, " is listed twice");
  CHECK(m.entries.size() == 8);
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].path == (root / "val" / "a" / "linked").string());
  CHECK(skipped[1].path == (root / "test" / "b" / "t1.png").string());
  CHECK(skipped[1].reason.find((root / "train" / "b" / "t1.png").string()) != std::string::npos);
}
