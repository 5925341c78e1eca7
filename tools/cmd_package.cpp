// `hemo package`: turns a finished training run into a shipped model (weights/shipped.h).
//   hemo package --run RUN_DIR --out weights/NAME.safetensors [--manifest-name pbc128-split.csv] [--storage fp16]
// Takes the weights the run tested (best.safetensors when it restored its best epoch, else
// last.safetensors), drops the optimizer buffers and the training state, and writes them with the
// model metadata plus hemo.shipped.* (name, test accuracy and image count from RUN/metrics.json,
// the resolved configuration, this binary's commit). The run's split manifest (RUN/split.csv, or
// the file it was trained on with --manifest) is copied beside the output under --manifest-name; shipped models share one, so an existing manifest there must be
// byte-identical (an ensemble is only judged fairly on images none of its members trained on).
// --storage fp16 or bf16 stores the float32 weights in 16 bits (weights/tensor_io.h: narrowed), half
// the file, for a model whose float32 file would pass the size a shipped model may have; every loader
// widens them back to float32, and hemo.shipped.storage records the choice. The accuracy recorded is
// the run's (float32): `hemo eval` on the file, as tests/e2e/shipped_models_test.cpp does, checks it.
#include "tools/command.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "hemo/version.h"
#include "models/model_file.h"
#include "weights/safetensors.h"
#include "weights/shipped.h"
#include "weights/tensor_io.h"

namespace {

namespace fs = std::filesystem;

struct PackageOptions {
  std::string run, out, manifest_name = "pbc128-split.csv", storage = "fp32";
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  HEMO_CHECK(in, p.string(), ": cannot read (is it a finished `hemo train` run?)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_text(p));
  } catch (const nlohmann::json::exception& e) {
    throw hemo::Error(hemo::cat(p.string(), ": not valid JSON: ", e.what()));
  }
}

void run_package(const PackageOptions& o) {
  using namespace hemo;
  const fs::path run(o.run), out(o.out);
  HEMO_CHECK(fs::is_directory(run), o.run, ": no such run directory");
  HEMO_CHECK(out.extension() == ".safetensors", o.out, ": the output must be a .safetensors file");
  const nlohmann::json config = read_json(run / "config.json");
  const nlohmann::json metrics = read_json(run / "metrics.json");
  HEMO_CHECK(metrics.contains("accuracy") && metrics.contains("total"), (run / "metrics.json").string(),
             ": no test accuracy (did the run finish its test evaluation?)");
  const bool restored = config.value("restore_best", true) && fs::exists(run / "best.safetensors");
  const fs::path source = run / (restored ? "best.safetensors" : "last.safetensors");

  // The model must load as every consumer loads it before anything is written.
  const models::ModelFile model = models::read_model_file(source.string());
  (void)models::build_model(model, Device::cpu());

  const safetensors::File file = safetensors::File::load(source.string());
  std::vector<safetensors::Entry> entries;
  for (const auto& t : file.tensors()) {
    if (t.name.rfind(models::kOptimizerPrefix, 0) == 0) continue;
    const auto bytes = file.bytes(t.name);
    safetensors::Entry e{t.name, t.dtype, t.shape, std::vector<uint8_t>(bytes.begin(), bytes.end())};
    if (o.storage != "fp32")
      e = weights::narrowed(e, o.storage == "fp16" ? safetensors::DType::F16 : safetensors::DType::BF16);
    entries.push_back(std::move(e));
  }
  auto md = model.meta.to_metadata();
  const std::string name = out.stem().string();
  md["hemo.shipped.name"] = name;
  md["hemo.shipped.test_accuracy"] = cat(metrics.at("accuracy").get<double>());
  md["hemo.shipped.test_images"] = cat(metrics.at("total").get<int64_t>());
  md["hemo.shipped.manifest"] = o.manifest_name;
  md["hemo.shipped.recipe"] = config.dump();
  md["hemo.shipped.commit"] = hemo::commit();
  md["hemo.shipped.storage"] = o.storage;

  // The run's split: RUN/split.csv, or the manifest it was given with --manifest (it writes none then).
  const std::string given = config.value("manifest", std::string());
  const fs::path split_file = !given.empty() && !fs::exists(run / "split.csv") ? fs::path(given) : run / "split.csv";
  HEMO_CHECK(fs::exists(split_file), split_file.string(), ": the run's split manifest is missing",
             given.empty() ? " (is it a finished `hemo train` run?)" : " (the run was trained with --manifest on it)");
  const std::string split = read_text(split_file);
  const fs::path manifest = (out.has_parent_path() ? out.parent_path() : fs::path(".")) / o.manifest_name;
  if (fs::exists(manifest))
    HEMO_CHECK(read_text(manifest) == split, manifest.string(), " holds another split than ", split_file.string(),
               ": shipped models share one test split (train on it with --manifest ", manifest.string(), ")");
  else
    std::ofstream(manifest, std::ios::binary) << split;
  safetensors::save(out.string(), entries, md);
  (void)models::read_model_file(out.string());  // loads as written (finite, every tensor in place)
  const auto check = weights::shipped_models_in(out.has_parent_path() ? out.parent_path() : fs::path("."));
  std::cout << "hemo package: " << source.string() << " -> " << out.string() << " (" << model.meta.architecture << ", "
            << model.meta.num_classes << " classes, " << model.meta.input_size << "x" << model.meta.input_size
            << ", " << o.storage << ", " << fs::file_size(out) << " bytes, test accuracy "
            << metrics.at("accuracy").get<double>() << " on " << metrics.at("total").get<int64_t>()
            << " images; split " << manifest.string() << "); " << check.size() << " shipped model(s) in that folder\n";
}

void add_package_command(CLI::App& app) {
  auto o = std::make_shared<PackageOptions>();
  CLI::App* cmd = app.add_subcommand("package", "Make a finished training run a shipped model (weights/MODELS.md)");
  cmd->add_option("--run", o->run, "Run directory of `hemo train` (its weights, metrics.json, config.json, and split.csv or the --manifest it used)")
      ->required();
  cmd->add_option("--out", o->out, "Model file to write, NAME.safetensors (NAME becomes its shipped name)")->required();
  cmd->add_option("--manifest-name", o->manifest_name, "File name of the split manifest written beside it")
      ->capture_default_str();
  cmd->add_option("--storage", o->storage,
                  "Weight storage in the file: fp32 (as trained), or fp16 / bf16 (16 bits, half the size; widened to "
                  "float32 on load; check the accuracy with `hemo eval`)")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  cmd->callback([o] { run_package(*o); });
}

}  // namespace
HEMO_COMMAND("", 64, add_package_command);
