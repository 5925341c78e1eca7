// `hemo info`: a model's layer table, parameter count and multiply-accumulate count at an input
// size, from the registry alone (no weights, no computation: shapes are propagated, see
// models/summary.h).
//   hemo info MODEL [--input-size H W] [--num-classes N] [--depth D] [--pool-stride S]
#include "tools/command.h"

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "models/registry.h"
#include "models/summary.h"

namespace {

// 1234567 -> "1,234,567"
std::string grouped(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }
std::string lpad(const std::string& s, size_t width) { return s.size() >= width ? " " + s : std::string(width - s.size(), ' ') + s; }

void print_info(const std::string& name, std::vector<int64_t> size, int64_t num_classes, int depth, int64_t pool_stride) {
  using namespace hemo;
  const models::ModelSpec& spec = models::model_spec(name);
  if (size.empty()) size = {spec.default_input, spec.default_input};
  HEMO_CHECK(size[0] >= 1 && size[1] >= 1, "hemo info: the input size must be positive");
  models::ModelOptions opt;
  opt.pool_stride = pool_stride;
  opt.init_weights = false;  // only shapes matter
  if (spec.family == "pbcnet7") {
    HEMO_CHECK(size[0] == size[1], "hemo info: pbcnet7 takes a square input (its dense layer is sized for it)");
    opt.input_size = size[0];
  }
  Generator gen(0);
  nn::ModulePtr model = models::create_model(name, num_classes, opt, gen);
  const models::Summary s = models::summarize(*model, {1, 3, size[0], size[1]});

  std::cout << name << " (" << spec.family << "): " << num_classes << " classes, input 1x3x" << size[0] << "x"
            << size[1] << " -> " << shape_str(s.output) << "; classifier head '" << spec.head << "', Grad-CAM layer '"
            << spec.gradcam_layer << "'\n\n";
  size_t width = 5;
  for (const auto& r : s.rows) width = std::max(width, r.name.size() + 2);
  std::cout << pad("layer", width) << pad("type", 20) << pad("output", 22) << lpad("params", 13) << lpad("MACs", 17)
            << "\n";
  for (const auto& r : s.rows) {
    if (r.depth == 0) continue;
    const bool shown = depth > 0 ? (r.depth == depth || (r.leaf && r.depth < depth)) : r.leaf;
    if (!shown) continue;
    std::cout << pad(r.name, width) << pad(r.type, 20) << pad(shape_str(r.output), 22) << lpad(grouped(r.params), 13)
              << lpad(grouped(r.macs), 17) << "\n";
  }
  std::cout << "\nparameters: " << grouped(s.params) << "\nMACs:       " << grouped(s.macs) << " ("
            << static_cast<double>(s.macs) / 1e9 << " G) per image at " << size[0] << "x" << size[1]
            << " (convolutions and linear layers)\n";
}

void add_info_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::vector<int64_t> size;
    int64_t num_classes = 1000;
    int depth = 0;
    int64_t pool_stride = 2;
    bool list = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("info", "Show a model's layers, parameter count and multiply-accumulates");
  cmd->add_option("model", o->model, "Model name (" + [] {
    std::string names;
    for (const auto& n : hemo::models::model_names()) names += (names.empty() ? "" : ", ") + n;
    return names;
  }() + ")");
  cmd->add_flag("--list", o->list, "List the architectures this build knows, one per line");
  cmd->add_option("--input-size", o->size, "Input height and width (default: the model's, 224 or pbcnet7's 100)")
      ->expected(2);
  cmd->add_option("--num-classes", o->num_classes, "Classes of the classifier")->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--depth", o->depth, "Show the modules at this depth of the tree (0: every layer)")
      ->check(CLI::Range(0, 100))->capture_default_str();
  cmd->add_option("--pool-stride", o->pool_stride, "pbcnet7 only: the stride of its max-pools")
      ->check(CLI::Range(1, 2))->capture_default_str();
  cmd->callback([o] {
    if (o->list) {
      for (const auto& n : hemo::models::model_names()) std::cout << n << "\n";
      return;
    }
    HEMO_CHECK(!o->model.empty(), "info: name a model (e.g. `hemo info resnet18`), or --list to see them all");
    print_info(o->model, o->size, o->num_classes, o->depth, o->pool_stride);
  });
}

}  // namespace
HEMO_COMMAND("", 60, add_info_command);
