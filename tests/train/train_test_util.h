// Helpers shared by the train/ tests: shell commands with captured output, the test venv with
// PyPI-only packages (TensorBoard), small modules that need no model zoo.
#pragma once
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "nn/module.h"

namespace hemo::test {

namespace fs = std::filesystem;

inline fs::path train_work_dir(const std::string& sub) {
  fs::path p = fs::path(HEMO_TEST_WORK_DIR) / "train" / sub;
  fs::create_directories(p);
  return p;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `cmd` through the shell; stdout goes to *out, stderr to *err (when given). Returns the
// exit status (as from waitpid: 0 on success). The capture files are per process, so suites that
// ctest runs side by side do not read each other's output.
inline int run_command(const std::string& cmd, std::string* out, std::string* err = nullptr) {
  const fs::path dir = train_work_dir("cmd");
  const fs::path o = dir / cat("stdout-", getpid(), ".txt"), e = dir / cat("stderr-", getpid(), ".txt");
  const int rc = std::system((cmd + " > " + shell_quote(o.string()) + " 2> " + shell_quote(e.string())).c_str());
  if (out) *out = read_file(o);
  if (err) {
    *err = read_file(e);
    if (err->size() > 6000) *err = cat("...", err->substr(err->size() - 6000));
  }
  return rc;
}

// A command's exit status (-1 when a signal ended it) and what it printed.
struct CommandRun {
  int status = -1;
  std::string out, err;
};
inline CommandRun run_captured(const std::string& cmd) {
  CommandRun r;
  const int raw = run_command(cmd, &r.out, &r.err);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

// The python of a venv under the build tree (python3 -m venv --system-site-packages, so Debian's
// torch stays visible) holding `packages` from PyPI, created on first use; `probe` is the import
// statement that proves they are there. Returns "" and sets *why when that fails: callers REQUIRE
// it, so a missing package fails the test instead of skipping it.
inline std::string venv_python(const std::string& name, const std::string& packages, const std::string& probe,
                               std::string* why) {
  const fs::path venv = train_work_dir("") / name;
  const std::string py = (venv / "bin" / "python").string();
  std::string out, err;
  const std::string check = shell_quote(py) + " -c " + shell_quote(probe);
  if (fs::exists(py) && run_command(check, &out, &err) == 0) return py;
  const std::string make = shell_quote(HEMO_PYTHON) + " -m venv --system-site-packages " + shell_quote(venv.string());
  if (run_command(make, &out, &err) != 0) {
    *why = "cannot create the venv (is python3-venv installed?): " + make + "\n" + err;
    return "";
  }
  const std::string pip = shell_quote((venv / "bin" / "pip").string()) + " install -q " + packages;
  if (run_command(pip, &out, &err) != 0) {
    *why = "pip could not install " + packages + " (PyPI unreachable?): " + pip + "\n" + err;
    return "";
  }
  if (run_command(check, &out, &err) != 0) {
    *why = "'" + probe + "' still fails after pip install:\n" + err;
    return "";
  }
  return py;
}

// A module with named parameters of given shapes and one buffer, for checkpoint and optimizer
// tests that need no model zoo. forward is the identity.
class ParamBag : public nn::Module {
 public:
  explicit ParamBag(const std::vector<Shape>& shapes) : params_(shapes.size()) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      params_[i] = Tensor::zeros(shapes[i]);
      register_parameter(cat("p", i), &params_[i]);
    }
    counter_ = Tensor::zeros({1});
    register_buffer("counter", &counter_);
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "ParamBag"; }
  std::vector<Tensor>& tensors() { return params_; }
  Tensor& counter() { return counter_; }

 private:
  std::vector<Tensor> params_;
  Tensor counter_;
};

}  // namespace hemo::test
