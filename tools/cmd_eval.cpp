// `hemo eval`: evaluates a checkpoint, or an ensemble of them, on labelled images and writes the
// papers' metrics (terminal table, metrics.json, metrics.csv) and per-image predictions.csv.
#include "tools/command.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/image_folder.h"
#include "data/manifest.h"
#include "data/skip_log.h"
#include "data/source.h"
#include "kernels/precision.h"
#include "train/checkpoint.h"
#include "weights/shipped.h"
#include "train/evaluate.h"
#include "train/run_files.h"

namespace {

struct EvalOptions {
  std::string checkpoint, ensemble, data, manifest, split = "test", rule = "vote", out = "eval", tta = "none";
  hemo::DeviceChoice device = hemo::DeviceChoice::cpu;
  hemo::Precision precision = hemo::Precision::tf32;
  int batch_size = 32, threads = 2;
  bool split_given = false;  // --split on the command line (not the default)
  bool channels_last = false;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The labelled images to evaluate: one split of a manifest (or of a pre-split folder), else every
// image of the folder.
std::vector<hemo::data::Sample> eval_samples(const EvalOptions& o, std::vector<std::string>& classes,
                                             hemo::data::SkipLog& skips) {
  namespace fs = std::filesystem;
  using namespace hemo::data;
  HEMO_CHECK(fs::is_directory(o.data), "data folder ", o.data, " does not exist or is not a folder");
  std::optional<Manifest> m;
  if (!o.manifest.empty()) {
    m = read_manifest(o.manifest, o.data);
  } else if (is_presplit_folder(o.data)) {
    m = scan_presplit_folder(o.data, {});
  }
  // Without a split file, a --split other than "all" cannot be honoured: evaluating every image
  // (training images included) under the name of one split would mislead.
  HEMO_CHECK(m || !o.split_given || o.split == "all", "--split ", o.split, " needs the split of a run: --manifest ",
             "RUN/split.csv (or a data folder split into train/val/test); without one, --split all evaluates every "
             "image of ", o.data);
  if (!m) std::cerr << "hemo eval: no split manifest: evaluating every image of " << o.data << "\n";
  if (!m || o.split == "all") {
    ImageFolder folder = scan_image_folder(o.data);
    std::cerr << folder.summary() << "\n";
    skips.add_all(folder.skipped);
    classes = folder.classes;
    return folder.samples;
  }
  classes = m->classes;
  Split s = o.split == "train" ? Split::Train : o.split == "val" ? Split::Val : Split::Test;
  return m->samples(s);
}

}  // namespace

namespace {
void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a checkpoint (or an ensemble) on labelled images");
  auto* c = cmd->add_option("--checkpoint", o->checkpoint, "Model checkpoint (.safetensors)");
  auto* e = cmd->add_option("--ensemble", o->ensemble,
                            "Comma-separated checkpoints combined by --rule; \"shipped\": every shipped model "
                            "(weights/MODELS.md)");
  c->excludes(e);
  cmd->add_option("--data", o->data, "ImageFolder root (or a pre-split folder)")->required();
  cmd->add_option("--manifest", o->manifest, "Split manifest (split.csv of a training run)");
  CLI::Option* split_opt = cmd->add_option("--split", o->split, "Which split of the manifest: train, val, test or all")
      ->check(CLI::IsMember({"train", "val", "test", "all"}))->capture_default_str();
  cmd->add_option("--rule", o->rule, "Ensemble rule: vote (majority, ties by mean probability) or mean")
      ->check(CLI::IsMember({"vote", "mean"}))->capture_default_str();
  hemo::cli::add_tta_option(cmd, o->tta);
  cmd->add_option("--out", o->out, "Folder for metrics.json, metrics.csv, confusion.csv, predictions.csv, report.html")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per batch")->capture_default_str();
  cmd->add_flag("--channels-last", o->channels_last,
                "Store the activations channels-last (NHWC) instead of NCHW (the same predictions up to "
                "rounding; faster for MobileNets on the CPU)");
  cmd->add_option("--threads", o->threads, "Decoding threads")->capture_default_str();
  hemo::cli::add_device_option(cmd, o->device);
  hemo::cli::add_precision_option(cmd, o->precision);
  cmd->callback([o, split_opt] {
    using namespace hemo;
    o->split_given = split_opt->count() > 0;
    std::vector<std::string> paths = o->ensemble.empty() ? std::vector<std::string>{o->checkpoint} : split_list(o->ensemble);
    if (o->ensemble == "shipped") {
      paths.clear();
      for (const auto& m : weights::shipped_models()) {
        paths.push_back(m.file.string());
        std::cerr << "hemo eval: shipped model " << m.name << " (" << m.meta.architecture << ")\n";
      }
    }
    HEMO_CHECK(!paths.empty() && !paths[0].empty(), "hemo eval: give --checkpoint or --ensemble");
    std::vector<std::string> classes;
    data::SkipLog skips;  // every file left out, named once on stderr; counted at the end
    auto samples = eval_samples(*o, classes, skips);
    HEMO_CHECK(!samples.empty(), "no images to evaluate in ", o->data, " (split ", o->split, ")");
    const Device device = resolve(o->device);
    set_precision(o->precision);
    // Every member is opened and checked before any is evaluated: a mismatch fails at once.
    std::vector<train::Checkpoint> ckpts;
    for (const auto& path : paths) {
      ckpts.push_back(train::load_checkpoint(path));
      HEMO_CHECK(ckpts.back().meta.class_names == classes, path, " was trained on classes different from those of ",
                 o->data, " (nothing was evaluated)");
    }
    std::vector<train::Predictions> members;
    for (size_t i = 0; i < paths.size(); ++i) {
      const std::string& path = paths[i];
      const train::Checkpoint ckpt = std::move(ckpts[i]);
      auto model = models::build_model(ckpt, device).module;
      data::LoaderOptions lo;
      lo.batch_size = o->batch_size;
      lo.threads = o->threads;
      lo.order = data::Order::Sequential;
      lo.allocator = train::batch_allocator(device);
      lo.on_skip = skips.callback();  // an unreadable image is skipped, not the end of the evaluation
      data::Loader loader(std::make_shared<data::FileSource>(samples), data::TransformSpec::eval(ckpt.meta.input_size, ckpt.meta.mean, ckpt.meta.std), lo);
      members.push_back(train::predict(*model, loader, device, path,
                                       o->channels_last ? MemoryFormat::channels_last : MemoryFormat::contiguous,
                                       data::parse_tta(o->tta)));
      std::cerr << path << ": accuracy " << members.back().accuracy() << "\n";
    }
    train::Predictions p = members.size() == 1
                               ? members[0]
                               : train::ensemble(members, o->rule == "mean" ? train::EnsembleRule::mean : train::EnsembleRule::vote);
    std::vector<int64_t> right;  // images by how many members got them right (ensembles only)
    if (members.size() > 1) {
      right = train::members_right(members);
      std::cout << "members right per image:";
      for (size_t r = right.size(); r-- > 0;)
        std::cout << (r + 1 == right.size() ? " " : ", ") << r << " of " << members.size() << ": " << right[r];
      std::cout << " images\n";
    }
    train::Metrics m = train::compute_metrics(p.truth, p.predicted, p.probabilities, classes);
    m.evaluated_on = o->manifest.empty() ? cat("every image of ", o->data)
                                         : cat("the ", o->split, " split of ", o->manifest, " (", o->data, ")");
    train::RunFiles files(o->out, /*append=*/false);
    files.write_evaluation(m, p.paths, p.truth, p.predicted, p.probabilities, classes);
    nlohmann::json setup = {{"checkpoints", paths}, {"data", o->data}, {"manifest", o->manifest},
                            {"split", o->split}, {"rule", paths.size() > 1 ? o->rule : "single model"},
                            {"tta", o->tta}};
    if (!right.empty()) setup["images_by_members_right"] = right;  // [r]: images exactly r members got right
    files.write_report(setup, nlohmann::json::array(), m,
                       cat(paths.size() > 1 ? cat("hemo eval: ensemble of ", paths.size(), " models on ", o->data)
                                            : cat("hemo eval: ", paths[0], " on ", o->data),
                           o->tta == "none" ? "" : cat(", test-time augmentation: ", o->tta)));
    std::cout << train::format_table(m) << "written to " << o->out << "/\n";
    skips.report_total("hemo eval");
  });
}
}  // namespace
HEMO_COMMAND("", 20, add_eval_command);
