// The C++ half of the torch-parity harness: loads the reference cases that make_reference.py
// wrote for one op, hands their float32 inputs to a test, and compares hemo's output and input
// gradients (float32) with PyTorch's float64 results under a magnitude-scaled tolerance.
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/autograd.h"
#include "tests/support/compare.h"
#include "weights/safetensors.h"

namespace hemo::test {

struct ParityCase {
  std::string name, op;
  nlohmann::json params;
  std::shared_ptr<safetensors::File> file;

  bool has(const std::string& key) const { return file->contains(key); }
  // A stored float tensor as a hemo tensor (float32 or float64 as stored).
  Tensor tensor(const std::string& key) const {
    const auto& info = file->info(key);
    if (info.dtype == safetensors::DType::F64) return Tensor::from_vector(file->values<double>(key), info.shape);
    REQUIRE_MESSAGE(info.dtype == safetensors::DType::F32, name, ": ", key, " is not a float tensor");
    return Tensor::from_vector(file->values<float>(key), info.shape);
  }
  std::vector<int64_t> ints(const std::string& key) const { return file->values<int64_t>(key); }
  // Input `in.<n>` as a float32 leaf; requires grad when PyTorch differentiated it.
  Tensor input(const std::string& n) const {
    Tensor t = tensor("in." + n);
    if (has("grad." + n)) t.requires_grad_(true);
    return t;
  }
};

inline std::vector<ParityCase> load_cases(const std::string& op) {
  std::vector<ParityCase> cases;
  namespace fs = std::filesystem;
  fs::path dir = HEMO_PARITY_REF_DIR;
  REQUIRE_MESSAGE(fs::is_directory(dir), "no reference directory ", dir.string(),
                  ": run the torch_parity_reference test first (ctest -L torch-parity does)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    auto file = std::make_shared<safetensors::File>(safetensors::File::load(entry.path().string()));
    if (file->metadata().at("op") != op) continue;
    cases.push_back({entry.path().stem().string(), op, nlohmann::json::parse(file->metadata().at("params")), file});
  }
  std::sort(cases.begin(), cases.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  REQUIRE_MESSAGE(!cases.empty(), "no reference cases for op '", op, "' in ", dir.string());
  return cases;
}

// Compares `out` with the reference, backpropagates grad_out through it and compares the
// gradient of every named input that PyTorch differentiated (all of them must be given).
inline void check_case(const ParityCase& c, const Tensor& out, const std::vector<std::pair<std::string, Tensor>>& inputs,
                       double tol = 1e-5) {
  HEMO_CHECK_CLOSE(out, c.tensor("out"), tol, c.name + " forward");
  bool any_grad = false;
  for (const auto& [n, t] : inputs) any_grad = any_grad || c.has("grad." + n);
  if (!any_grad) return;
  out.backward(c.tensor("grad_out"));
  for (const auto& [n, t] : inputs) {
    if (!c.has("grad." + n)) continue;
    REQUIRE_MESSAGE(t.grad().defined(), c.name, ": no gradient reached input ", n);
    HEMO_CHECK_CLOSE(t.grad(), c.tensor("grad." + n), tol, c.name + " grad of " + n);
  }
  for (const auto& info : c.file->tensors()) {
    if (info.name.rfind("grad.", 0) != 0 || info.name == "grad_out") continue;
    bool given = false;
    for (const auto& [n, t] : inputs) given = given || info.name == "grad." + n;
    CHECK_MESSAGE(given, c.name, ": the test did not check ", info.name);
  }
}

}  // namespace hemo::test
