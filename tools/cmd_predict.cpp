// `hemo predict`: classifies images (files, or folders searched recursively) with a checkpoint
// (default: the best shipped model, weights/shipped.h)
// and prints each image's top-k classes with probabilities, as a table or as JSON
// (tools/prediction_report.h: the format hemo-infer prints too).
#include "tools/command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "data/image_folder.h"
#include "data/skip_log.h"
#include "data/source.h"
#include "kernels/precision.h"
#include "tools/prediction_report.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace {
struct PredictOptions {
  std::string checkpoint, tta = "none";
  hemo::DeviceChoice device = hemo::DeviceChoice::cpu;
  hemo::Precision precision = hemo::Precision::tf32;
  std::vector<std::string> inputs;
  int top = 3, batch_size = 32, threads = 2;
  bool json = false, channels_last = false;
};

std::vector<hemo::data::Sample> collect(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<hemo::data::Sample> out;
  std::vector<std::string> expanded;  // "-": image paths from standard input, one per line (as hemo-infer)
  for (const auto& in : inputs) {
    if (in != "-") {
      expanded.push_back(in);
      continue;
    }
    for (std::string line; std::getline(std::cin, line);)
      if (!line.empty()) expanded.push_back(line);
  }
  for (const auto& in : expanded) {
    if (fs::is_directory(in)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(in))
        if (e.is_regular_file() && hemo::data::has_image_extension(e.path())) found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      for (auto& f : found) out.push_back({f, 0});
    } else {
      out.push_back({in, 0});  // one that cannot be read (or is missing) is reported, the rest classified
    }
  }
  return out;
}
}  // namespace

namespace {
void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images with a checkpoint: top-k classes per image");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "Model file (.safetensors; default: the best shipped model, weights/MODELS.md)");
  cmd->add_option("images", o->inputs, "Image files or folders; - reads image paths from standard input")->required();
  cmd->add_option("--top", o->top, "Classes to show per image (1 to 1000)")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  cmd->add_option("--batch-size", o->batch_size, "Images per batch")->capture_default_str();
  cmd->add_flag("--channels-last", o->channels_last,
                "Store the activations channels-last (NHWC) instead of NCHW (the same predictions up to "
                "rounding; faster for MobileNets on the CPU)");
  cmd->add_option("--threads", o->threads, "Decoding threads")->capture_default_str();
  hemo::cli::add_tta_option(cmd, o->tta);
  hemo::cli::add_device_option(cmd, o->device);
  hemo::cli::add_precision_option(cmd, o->precision);
  cmd->callback([o] {
    using namespace hemo;
    if (o->checkpoint.empty()) o->checkpoint = cli::shipped_default("hemo predict");
    train::Checkpoint ckpt = train::load_checkpoint(o->checkpoint);
    const Device device = resolve(o->device);
    set_precision(o->precision);
    auto model = models::build_model(ckpt, device).module;
    auto samples = collect(o->inputs);
    HEMO_CHECK(!samples.empty(), "no images found in the given paths");
    const data::TransformSpec tf = data::TransformSpec::eval(ckpt.meta.input_size, ckpt.meta.mean, ckpt.meta.std);
    data::LoaderOptions lo;
    lo.batch_size = o->batch_size;
    lo.threads = o->threads;
    lo.order = data::Order::Sequential;
    lo.allocator = train::batch_allocator(device);
    // An image that cannot be read is named on stderr and in the output, in its place, as
    // hemo-infer does; the others are classified; the exit status is then 1.
    data::SkipLog skips;
    std::map<std::string, std::string> failed;  // path -> reason
    lo.on_skip = [&skips, &failed](const data::Skipped& s) {
      skips.add(s);
      failed.emplace(s.path, s.reason);
    };
    data::Loader loader(std::make_shared<data::FileSource>(samples), tf, lo);
    train::Predictions p = train::predict(*model, loader, device, "",
                                          o->channels_last ? MemoryFormat::channels_last : MemoryFormat::contiguous,
                                          data::parse_tta(o->tta));
    std::map<std::string, size_t> row;
    for (size_t i = 0; i < p.paths.size(); ++i) row.emplace(p.paths[i], i);
    const auto& names = ckpt.meta.class_names;
    const size_t k = static_cast<size_t>(o->top);
    nlohmann::json all = nlohmann::json::array();
    for (const data::Sample& s : samples) {
      const auto it = row.find(s.path);
      if (it != row.end() && o->json)
        all.push_back(cli::top_json(s.path, p.probabilities[it->second], names, k));
      else if (it != row.end())
        cli::print_top_table(std::cout, s.path, p.probabilities[it->second], names, k);
      else if (o->json)
        all.push_back({{"path", s.path}, {"error", failed.count(s.path) ? failed[s.path] : "not classified"}});
      else
        std::cout << s.path << ": error: " << (failed.count(s.path) ? failed[s.path] : "not classified") << "\n";
    }
    if (o->json) std::cout << all.dump(2) << "\n";
    std::cout << std::flush;
    const size_t bad = samples.size() - p.paths.size();
    HEMO_CHECK(bad == 0, bad, " of ", samples.size(), " images could not be classified (named above)");
  });
}
}  // namespace
HEMO_COMMAND("", 30, add_predict_command);
