// `hemo gradcam`: Grad-CAM (or Grad-CAM++) of a checkpoint on image files or folders. Writes into
// --out, per image, NAME_overlay.png (the heatmap over the original image) and NAME_cam16.png (the
// raw map, 16-bit greyscale at the model's input size); then predictions.csv (one row per image)
// and index.html, a gallery grouped by true and predicted class, misclassified first. An image's
// true class is its folder's name when that is one of the checkpoint's classes (ImageFolder
// layout), else unknown.
#include "tools/command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "data/decode.h"
#include "data/encode.h"
#include "data/image_folder.h"
#include "data/io.h"
#include "data/skip_log.h"
#include "kernels/precision.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/gradcam_gallery.h"
#include "train/gradcam_run.h"

namespace {
namespace fs = std::filesystem;
using namespace hemo;

struct GradcamOptions {
  std::string checkpoint, out, method = "gradcam", layer, class_name, colormap = "jet";
  hemo::DeviceChoice device = hemo::DeviceChoice::cpu;
  hemo::Precision precision = hemo::Precision::tf32;
  std::vector<std::string> inputs;
  float alpha = 0.5f;
  int batch_size = 8;
  bool channels_last = false;
};

// The images to explain: files as given, folders searched recursively (sorted). A file in a
// folder whose header is not an image's is skipped with a note; a file named on the command line
// must exist. An image whose data turns out corrupt is skipped later, while it is explained.
std::vector<train::CamInput> collect(const std::vector<std::string>& inputs, const std::vector<std::string>& classes,
                                     data::SkipLog& skips) {
  auto truth_of = [&](const fs::path& p) -> int64_t {
    const auto it = std::find(classes.begin(), classes.end(), p.parent_path().filename().string());
    return it == classes.end() ? -1 : it - classes.begin();
  };
  std::vector<train::CamInput> out;
  for (const std::string& in : inputs) {
    HEMO_CHECK(fs::exists(in), in, ": no such file or folder");
    if (!fs::is_directory(in)) {
      out.push_back({in, truth_of(in)});
      continue;
    }
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(in))
      if (e.is_regular_file() && data::has_image_extension(e.path())) found.push_back(e.path().string());
    std::sort(found.begin(), found.end());
    for (const std::string& f : found) {
      try {
        data::probe_image(data::read_file_bytes(f), f);
      } catch (const Error& e) {
        skips.add({f, e.what()});
        continue;
      }
      out.push_back({f, truth_of(f)});
    }
  }
  return out;
}

// File-name stems, made unique with _2, _3, ... where two images share one.
std::vector<std::string> unique_names(const std::vector<train::CamInput>& images) {
  std::map<std::string, int> seen;
  std::vector<std::string> names;
  for (const auto& im : images) {
    const std::string stem = fs::path(im.path).stem().string();
    const int n = ++seen[stem];
    names.push_back(n == 1 ? stem : cat(stem, "_", n));
  }
  return names;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

void run(GradcamOptions o) {
  if (o.checkpoint.empty()) o.checkpoint = cli::shipped_default("hemo gradcam");
  train::Checkpoint ckpt = train::load_checkpoint(o.checkpoint);
  const weights::ModelMeta& meta = ckpt.meta;
  train::CamSettings s;
  s.method = o.method == "gradcampp" ? CamMethod::gradcampp : CamMethod::gradcam;
  s.layer = o.layer;
  s.colormap = o.colormap == "turbo" ? Colormap::turbo : Colormap::jet;
  s.alpha = o.alpha;
  s.batch_size = o.batch_size;
  s.channels_last = o.channels_last;
  if (!o.class_name.empty()) {
    const auto it = std::find(meta.class_names.begin(), meta.class_names.end(), o.class_name);
    std::string known;
    for (const auto& c : meta.class_names) known += (known.empty() ? "" : ", ") + c;
    HEMO_CHECK(it != meta.class_names.end(), "gradcam: no class '", o.class_name, "' in ", o.checkpoint, " (classes: ",
               known, ")");
    s.target_class = it - meta.class_names.begin();
  }
  data::SkipLog skips;  // every image left out, named once on stderr; counted at the end
  const std::vector<train::CamInput> images = collect(o.inputs, meta.class_names, skips);
  HEMO_CHECK(!images.empty(), "gradcam: no images found in the given paths");
  const std::vector<std::string> names = unique_names(images);
  const Device device = resolve(o.device);
  set_precision(o.precision);
  auto model = models::build_model(ckpt, device).module;
  const std::string layer = train::cam_layer(meta, s);
  fs::create_directories(o.out);

  std::string csv = "image,true_class,predicted_class,probability,explained_class,overlay,map\n";
  std::vector<train::GalleryEntry> entries;
  size_t i = 0;
  train::explain_images(*model, meta, images, s, device, [&](train::CamImage& im) {
    while (images[i].path != im.path) ++i;  // in order; skipped images have no sink call
    const std::string overlay = names[i] + "_overlay.png", map = names[i] + "_cam16.png";
    data::save_image(fs::path(o.out) / overlay, im.overlay);
    data::write_file_atomic(fs::path(o.out) / map, data::encode_png_gray16(static_cast<int>(im.size),
                                                                          static_cast<int>(im.size), im.map16));
    const auto& names_of = meta.class_names;
    const std::string truth = im.truth >= 0 ? names_of[static_cast<size_t>(im.truth)] : "";
    const std::string& predicted = names_of[static_cast<size_t>(im.predicted)];
    const double p = im.probabilities[static_cast<size_t>(im.predicted)];
    csv += cat(csv_field(im.path), ",", csv_field(truth), ",", csv_field(predicted), ",", fixed4(p), ",",
               csv_field(names_of[static_cast<size_t>(im.explained)]), ",", csv_field(overlay), ",", csv_field(map), "\n");
    std::string caption = cat(fs::path(im.path).filename().string(), ": ", predicted, " (", fixed4(p), ")");
    if (im.explained != im.predicted) caption += cat(", map of ", names_of[static_cast<size_t>(im.explained)]);
    entries.push_back({im.truth, im.predicted, overlay, caption});
    ++i;
  }, skips.callback());  // a corrupt image is left out: the others' files and index.html are still written
  data::write_file_atomic(fs::path(o.out) / "predictions.csv", csv);
  const std::string title = cat(o.method == "gradcampp" ? "Grad-CAM++" : "Grad-CAM", ": ", meta.architecture, " at ", layer);
  data::write_file_atomic(fs::path(o.out) / "index.html",
                          train::gallery_page(title, cat(o.checkpoint, ", ", entries.size(), " images"),
                                              train::group_gallery(entries, meta.class_names)));
  std::cout << "gradcam: " << entries.size() << " images (" << meta.architecture << ", layer " << layer << ") -> "
            << o.out << "/index.html\n";
  skips.report_total("hemo gradcam");
  HEMO_CHECK(!entries.empty(), "gradcam: none of the images could be explained (all skipped, named above)");
}

void add_gradcam_command(CLI::App& app) {
  auto o = std::make_shared<GradcamOptions>();
  CLI::App* cmd = app.add_subcommand("gradcam", "Grad-CAM overlays, raw maps and a gallery for images, with a checkpoint");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "Model file (.safetensors; default: the best shipped model, weights/MODELS.md)");
  cmd->add_option("images", o->inputs, "Image files or folders (searched recursively)")->required();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--method", o->method, "gradcam or gradcampp")
      ->check(CLI::IsMember({"gradcam", "gradcampp"}))
      ->capture_default_str();
  cmd->add_option("--layer", o->layer, "Target module (dotted name; default: the architecture's, see `hemo info`)");
  cmd->add_option("--class", o->class_name, "Explain this class for every image (default: the predicted one)");
  cmd->add_option("--colormap", o->colormap, "jet or turbo")->check(CLI::IsMember({"jet", "turbo"}))->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "Weight of the heatmap over the image")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per batch")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--channels-last", o->channels_last,
                "Store the activations channels-last (NHWC) instead of NCHW (the same maps up to rounding)");
  hemo::cli::add_device_option(cmd, o->device);
  hemo::cli::add_precision_option(cmd, o->precision);
  cmd->callback([o] { run(*o); });
}
}  // namespace

HEMO_COMMAND("", 40, add_gradcam_command);
