// core/output_file.h: a failed write names the file and the system's reason; a failed atomic
// replacement leaves the old file as it was and no temporary file behind. /dev/full answers every
// write with ENOSPC, as a full disk does.
#include "core/output_file.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tests/support/child_process.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {

std::string message_of(const std::function<void()>& f) { return test::error_message(f); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path fresh_dir(const char* name) {
  const fs::path d = fs::path(HEMO_TEST_WORK_DIR) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("OutputFile: a write to a full device names the file and 'No space left on device'") {
  REQUIRE(fs::exists("/dev/full"));
  OutputFile f("/dev/full", OutputFile::Mode::append);
  const std::string m = message_of([&] { f.write("one epoch's line\n"); });
  CHECK_MESSAGE(m.find("/dev/full") != std::string::npos, m);
  CHECK_MESSAGE(m.find("No space left on device") != std::string::npos, m);
}

TEST_CASE("OutputFile: a file that cannot be opened is named with the reason") {
  const fs::path d = fresh_dir("output_file_open");
  const std::string path = (d / "absent" / "x.csv").string();
  const std::string m = message_of([&] { OutputFile f(path, OutputFile::Mode::truncate); });
  CHECK_MESSAGE(m.find(path) != std::string::npos, m);
  CHECK_MESSAGE(m.find("No such file or directory") != std::string::npos, m);
}

TEST_CASE("OutputFile: append mode appends, truncate mode replaces; a write after close is an error") {
  const fs::path d = fresh_dir("output_file_modes");
  const std::string path = (d / "log.csv").string();
  {
    OutputFile f(path, OutputFile::Mode::truncate);
    f.write("a\n");
    f.close();
    CHECK(message_of([&] { f.write("b\n"); }).find("write after close") != std::string::npos);
  }
  {
    OutputFile f(path, OutputFile::Mode::append);
    f.write("b\n");
  }
  CHECK(slurp(path) == "a\nb\n");
  {
    OutputFile f(path, OutputFile::Mode::truncate);
    f.write("c\n");
    f.sync();
  }
  CHECK(slurp(path) == "c\n");
}

TEST_CASE("write_file_atomically: replaces the file whole; a failure leaves the old one and no temporary") {
  const fs::path d = fresh_dir("output_file_atomic");
  const std::string path = (d / "metrics.json").string();
  write_file_atomically(path, "old\n");
  write_file_atomically(path, "new\n");
  CHECK(slurp(path) == "new\n");

  // The temporary name taken by a directory: opening it fails, as a full or read-only disk would.
  const fs::path blocker = path + ".tmp." + std::to_string(::getpid());
  fs::create_directories(blocker / "keep");
  const std::string m = message_of([&] { write_file_atomically(path, "newer\n"); });
  CHECK_MESSAGE(m.find("cannot write " + path) != std::string::npos, m);
  CHECK_MESSAGE(m.find("Is a directory") != std::string::npos, m);
  CHECK_MESSAGE(m.find("is left as it was") != std::string::npos, m);
  CHECK(slurp(path) == "new\n");
  fs::remove_all(blocker);
  CHECK(fs::exists(path));
  CHECK(std::distance(fs::directory_iterator(d), fs::directory_iterator()) == 1);  // nothing else left

  const std::string nowhere = (d / "absent" / "report.html").string();
  const std::string m2 = message_of([&] { write_file_atomically(nowhere, "x"); });
  CHECK_MESSAGE(m2.find(nowhere) != std::string::npos, m2);
}
