// safetensors interop with the reference Python package: files hemo writes are read by
// safetensors.numpy / safetensors.torch, files they write are read by hemo. The package lives
// in a venv cached under the build tree; if it cannot be created the test fails (never skips).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/weights/safetensors_test_util.h"
#include "weights/safetensors.h"

namespace st = hemo::safetensors;
namespace fs = std::filesystem;
using st::DType;

namespace {

const fs::path kWork = fs::path(HEMO_TEST_WORK_DIR) / "weights";
const fs::path kVenv = kWork / "venv";
const fs::path kScript = fs::path(HEMO_SOURCE_DIR) / "tests" / "weights" / "safetensors_interop.py";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command with stdout and stderr sent to a log; returns the exit status and log.
int run(const std::string& cmd, std::string* log) {
  fs::create_directories(kWork);
  const fs::path log_path = kWork / "last_command.log";
  const int rc = std::system((cmd + " > " + quote(log_path.string()) + " 2>&1").c_str());
  std::ifstream in(log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  *log = ss.str();
  if (log->size() > 4000) *log = "..." + log->substr(log->size() - 4000);
  return rc;
}

// The venv's python, created once (python3 -m venv --system-site-packages, pip install
// safetensors numpy). Returns "" and sets *why when that fails.
std::string venv_python(std::string* why) {
  const std::string py = (kVenv / "bin" / "python").string();
  std::string log;
  const std::string probe = quote(py) + " -c 'import safetensors, numpy'";
  if (fs::exists(py) && run(probe, &log) == 0) return py;
  const std::string make = quote(HEMO_PYTHON) + " -m venv --system-site-packages " + quote(kVenv.string());
  if (run(make, &log) != 0) {
    *why = "cannot create the venv (is python3-venv installed?): " + make + "\n" + log;
    return "";
  }
  const std::string pip = quote((kVenv / "bin" / "pip").string()) + " install -q safetensors numpy";
  if (run(pip, &log) != 0) {
    *why = "pip could not install safetensors numpy (PyPI unreachable?): " + pip + "\n" + log;
    return "";
  }
  if (run(probe, &log) != 0) {
    *why = "safetensors still cannot be imported after pip install:\n" + log;
    return "";
  }
  return py;
}

// Kept identical to HEMO_METADATA and PY_METADATA in safetensors_interop.py.
const std::map<std::string, std::string> kHemoMeta = {
    {"arch", "pbcnet7"}, {"classes", "basophil,eosinophil"}, {"note", "5 \xc2\xb5m"}};
const std::map<std::string, std::string> kPyMeta = {
    {"format", "np"}, {"source", "python"}, {"input", "3x224x224"}};

}  // namespace

TEST_CASE("safetensors interop: files written by hemo load in the reference package") {
  std::string why;
  const std::string py = venv_python(&why);
  REQUIRE_MESSAGE(!py.empty(), why);
  const fs::path dir = kWork / "interop_hemo";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // Every dtype numpy has (all but BF16), odd shapes, a scalar and empty tensors.
  std::vector<st::Entry> numpy_entries;
  int k = 0;
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL, DType::U16, DType::U32, DType::U64}) {
    const std::vector<std::vector<int64_t>> shapes = {{3, 1, 5}, {7}, {}, {4, 0}};
    for (const auto& shape : shapes)
      numpy_entries.push_back(st::testing::formula_entry(k++, d, shape));
  }
  const std::string numpy_file = (dir / "numpy.safetensors").string();
  st::save(numpy_file, numpy_entries, kHemoMeta);

  // BF16 (and friends) through safetensors.torch, since numpy has no bfloat16.
  std::vector<st::Entry> torch_entries = {
      st::testing::formula_entry(k++, DType::BF16, {5, 3}), st::testing::formula_entry(k++, DType::BF16, {}),
      st::testing::formula_entry(k++, DType::F16, {9}), st::testing::formula_entry(k++, DType::I64, {2, 2}),
      st::testing::formula_entry(k++, DType::BOOL, {6})};
  const std::string torch_file = (dir / "torch.safetensors").string();
  st::save(torch_file, torch_entries, kHemoMeta);

  std::string log;
  const int rc_np = run(quote(py) + " " + quote(kScript.string()) + " check-numpy " + quote(numpy_file) +
                            " " + std::to_string(numpy_entries.size()),
                        &log);
  CHECK_MESSAGE(rc_np == 0, log);
  const int rc_pt = run(quote(py) + " " + quote(kScript.string()) + " check-torch " + quote(torch_file) +
                            " " + std::to_string(torch_entries.size()),
                        &log);
  CHECK_MESSAGE(rc_pt == 0, log);
}

TEST_CASE("safetensors interop: files written by the reference package load in hemo") {
  std::string why;
  const std::string py = venv_python(&why);
  REQUIRE_MESSAGE(!py.empty(), why);
  const fs::path dir = kWork / "interop_python";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string log;
  const int rc = run(quote(py) + " " + quote(kScript.string()) + " write " + quote(dir.string()), &log);
  REQUIRE_MESSAGE(rc == 0, log);

  std::set<DType> seen;
  size_t count = 0;
  for (const char* name : {"numpy.safetensors", "torch.safetensors"}) {
    const st::File f = st::File::load((dir / name).string());
    CHECK(f.metadata() == kPyMeta);
    for (const st::TensorInfo& t : f.tensors()) {
      CHECK_MESSAGE(st::testing::check_formula_tensor(f, t) == "", f.origin());
      seen.insert(t.dtype);
      ++count;
    }
  }
  CHECK(count == 12 * 4 + 4);
  CHECK(seen.size() == 13);  // every dtype came through
}
