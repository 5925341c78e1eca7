// Every registered op case (opcases/registry.h) against PyTorch: hemo runs each sample in float32,
// forward and backward from a random output gradient; all cases' inputs and output gradients go
// into one safetensors file, ONE Python process (HEMO_PYTHON, tests/parity/opcase_torch.py)
// evaluates each case's torch expression in float64 on the same values, forward and backward, and
// writes the outputs and input gradients; they are compared under the case's parity tolerance.
// (The time each case's summary line shows is its comparison's; PyTorch runs once for all.)
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/opcases.h"
#include "weights/safetensors.h"

using namespace hemo;
using namespace hemo::opcases;

namespace {
struct Run {
  const OpCase* c;
  std::string key;  // "<case>#<sample>"
  std::vector<Tensor> inputs;
  Tensor out;
};

void put(std::vector<safetensors::Entry>& file, const std::string& name, const Tensor& t) {
  const std::vector<float> v = t.to_vector<float>();
  file.push_back(safetensors::make_entry<float>(name, t.shape(), v.data()));
}

Tensor get(const safetensors::File& f, const std::string& name) {
  REQUIRE_MESSAGE(f.contains(name), "PyTorch wrote no ", name);
  return Tensor::from_vector(f.values<double>(name), f.info(name).shape);
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs hemo on every sample and records what PyTorch needs.
std::vector<Run> run_hemo(std::vector<safetensors::Entry>& file, nlohmann::json& cases) {
  std::vector<Run> runs;
  test::for_each_case(Check::parity, [&](const OpCase& c) {
    for (size_t i = 0; i < c.samples.size(); ++i) {
      Run r{&c, cat(c.name, "#", i), make_inputs(c, c.samples[i], DType::f32, Device::cpu(), true), {}};
      r.out = c.forward(r.inputs);
      nlohmann::json names = nlohmann::json::array(), grads = nlohmann::json::array();
      for (size_t k = 0; k < c.inputs.size(); ++k) {
        put(file, r.key + "/in." + c.inputs[k].name, r.inputs[k]);
        names.push_back(c.inputs[k].name);
        if (c.inputs[k].grad) grads.push_back(c.inputs[k].name);
      }
      if (r.out.requires_grad()) {
        Tensor gy = test::grad_out_like(r.out, std::hash<std::string>{}(r.key));
        r.out.backward(gy);
        put(file, r.key + "/grad_out", gy);
      } else {
        grads = nlohmann::json::array();
      }
      cases.push_back({{"key", r.key}, {"torch", c.torch}, {"inputs", names}, {"grads", grads}});
      runs.push_back(std::move(r));
    }
  });
  return runs;
}
}  // namespace

TEST_CASE("torch-parity: every op case against PyTorch in float64, forward and input gradients") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(HEMO_TEST_WORK_DIR) / "opcases-parity";
  fs::create_directories(dir);
  std::vector<safetensors::Entry> file;
  nlohmann::json cases = nlohmann::json::array();
  const std::vector<Run> runs = run_hemo(file, cases);
  safetensors::save((dir / "inputs.safetensors").string(), file, {{"cases", cases.dump()}});

  const std::string cmd = cat(HEMO_PYTHON, " ", HEMO_SOURCE_DIR, "/tests/parity/opcase_torch.py ",
                              dir / "inputs.safetensors", " ", dir / "torch.safetensors", " > ", dir / "torch.log", " 2>&1");
  const int rc = std::system(cmd.c_str());
  REQUIRE_MESSAGE(rc == 0, "PyTorch failed (", cmd, "):\n", slurp(dir / "torch.log"));
  const safetensors::File ref = safetensors::File::load((dir / "torch.safetensors").string());

  test::Worst worst{Check::parity, ""};
  for (const Run& r : runs) {
    if (r.c->name != worst.name) {
      if (!worst.name.empty()) worst.print();
      worst = test::Worst{Check::parity, r.c->name};
    }
    ++worst.samples;
    const std::string label = cat(r.key, " ", shape_str(r.inputs.at(0).shape()));
    worst.close(r.out, get(ref, r.key + "/out"), r.c->tol.parity, label + " forward");
    if (!r.out.requires_grad()) continue;
    for (size_t k = 0; k < r.inputs.size(); ++k) {
      if (!r.c->inputs[k].grad) continue;
      const std::string& n = r.c->inputs[k].name;
      REQUIRE_MESSAGE(r.inputs[k].grad().defined(), label, ": no gradient reached ", n);
      worst.close(r.inputs[k].grad(), get(ref, r.key + "/grad." + n), r.c->tol.parity, label + " gradient of " + n);
    }
  }
  worst.print();
}
