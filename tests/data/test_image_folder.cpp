// ImageFolder: torchvision's class/ordering rules, skipping undecodable files with a report, the
// folder-level errors, and the real pbc-mini folder with its stray .DS file.
#include <doctest/doctest.h>

#include "core/error.h"
#include "data/image_folder.h"
#include "data_test_util.h"

using namespace hemo::data;
namespace fs = std::filesystem;

namespace {
void put_png(const fs::path& p, int seed = 0) {
  fs::create_directories(p.parent_path());
  save_image(p, Image(8, 6, static_cast<uint8_t>(seed)));
}
}  // namespace

TEST_CASE("classes are sorted subfolders, extensions case-insensitive, files sorted and recursive") {
  const fs::path root = test::scratch_dir("folder_basic");
  put_png(root / "zeta" / "b.PNG");
  put_png(root / "zeta" / "a.png");
  put_png(root / "alpha" / "x.JpG" );  // a PNG named .JpG: the content decides the decoder
  put_png(root / "alpha" / "nested" / "y.bmp.png");
  put_png(root / "Beta" / "c.jpeg");
  test::write_text(root / "alpha" / "notes.txt", "not an image, wrong extension: ignored");
  test::write_text(root / "README.md", "a file at the root is not a class");
  put_png(root / ".hidden" / "h.png");  // hidden folders are not classes
  const ImageFolder f = scan_image_folder(root);
  CHECK(f.classes == std::vector<std::string>{"Beta", "alpha", "zeta"});  // byte order, as sorted()
  REQUIRE(f.samples.size() == 5);
  CHECK(fs::path(f.samples[0].path).filename() == "c.jpeg");
  CHECK(f.samples[0].label == 0);
  CHECK(fs::path(f.samples[1].path).filename() == "y.bmp.png");  // "nested/..." < "x.JpG"
  CHECK(fs::path(f.samples[2].path).filename() == "x.JpG");
  CHECK(fs::path(f.samples[3].path).filename() == "a.png");
  CHECK(fs::path(f.samples[4].path).filename() == "b.PNG");
  CHECK(f.samples[4].label == 2);
  CHECK(f.skipped.empty());
  CHECK(f.summary() == "5 images in 3 classes under " + root.string());
}

TEST_CASE("undecodable files are skipped, reported with path and reason, and counted") {
  const fs::path root = test::scratch_dir("folder_skip");
  put_png(root / "a" / "good.png");
  put_png(root / "b" / "good.png");
  test::write_text(root / "b" / ".DS_1.jpg", std::string("\0\0\0\1Bud1", 8));
  test::write_text(root / "b" / "empty.jpg", "");
  fs::create_directories(root / "b" / "dir.jpg");  // a folder with an image name: walked into, no file
  const ImageFolder f = scan_image_folder(root);
  CHECK(f.samples.size() == 2);
  REQUIRE(f.skipped.size() == 2);
  CHECK(f.skipped[0].path == (root / "b" / ".DS_1.jpg").string());
  CHECK(f.skipped[0].reason.find("not a JPEG, PNG or BMP image") != std::string::npos);
  CHECK(f.skipped[1].reason.find("the file is empty") != std::string::npos);
  CHECK(f.summary().find("(2 files skipped)") != std::string::npos);
  const std::string report = f.skipped_report();
  CHECK(report.find("skipped " + (root / "b" / ".DS_1.jpg").string() + ": not a JPEG") != std::string::npos);
  // Verify::None trusts extensions; Verify::Full also catches truncated data.
  ScanOptions none;
  none.verify = Verify::None;
  CHECK(scan_image_folder(root, none).samples.size() == 4);
  const auto png = encode_png(Image(40, 40, 9));
  hemo::data::write_file_atomic(root / "a" / "cut.png",
                                std::span<const uint8_t>(png.data(), png.size() - 20));
  ScanOptions full;
  full.verify = Verify::Full;
  CHECK(scan_image_folder(root).samples.size() == 3);  // the header alone looks fine
  CHECK(scan_image_folder(root, full).samples.size() == 2);
}

TEST_CASE("folder-level errors are clear") {
  const fs::path base = test::scratch_dir("folder_errors");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "nope"), doctest::Contains("does not exist"), hemo::Error);
  test::write_text(base / "file", "x");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "file"), doctest::Contains("not a folder"), hemo::Error);
  fs::create_directories(base / "empty_root");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "empty_root"), doctest::Contains("no class folders"),
                       hemo::Error);
  put_png(base / "single" / "only" / "a.png");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "single"),
                       doctest::Contains("only one class folder ('only')"), hemo::Error);
  put_png(base / "hollow" / "a" / "x.png");
  fs::create_directories(base / "hollow" / "b");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "hollow"),
                       doctest::Contains("class folder 'b' holds no usable image"), hemo::Error);
  put_png(base / "broken" / "a" / "x.png");
  test::write_text(base / "broken" / "b" / "y.jpg", "garbage");
  CHECK_THROWS_WITH_AS(scan_image_folder(base / "broken"), doctest::Contains("all failed to decode"),
                       hemo::Error);
}

TEST_CASE("pbc-mini: 200 images in 8 classes, the stray .DS file skipped with its reason") {
  const fs::path real = test::pbc_mini();
  if (real.empty()) return;  // pbc_mini() said why
  const ImageFolder f = scan_image_folder(real);
  CHECK(f.classes == synth::class_names());
  CHECK(f.samples.size() == 200);
  REQUIRE(f.skipped.size() == 1);
  CHECK(f.skipped[0].path == (real / "neutrophil" / ".DS_169665.jpg").string());
  CHECK(f.skipped[0].reason.find("not a JPEG, PNG or BMP image") != std::string::npos);
  MESSAGE(f.summary(), "\n", f.skipped_report());
}
