#include "train/gradcam_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/encode.h"
#include "data/resize.h"
#include "train/gradcam_gallery.h"

namespace hemo::train {

std::vector<size_t> gallery_selection(const Predictions& p, size_t num_classes) {
  // Misclassified images per true class, taken in turns (each class's first, then each one's
  // second, ...) so that one class's errors do not fill the cap alone.
  std::vector<std::vector<size_t>> wrong(num_classes);
  std::vector<size_t> picked, correct(num_classes, 0);
  for (size_t i = 0; i < p.paths.size(); ++i) {
    const int64_t t = p.truth[i];
    if (t < 0 || static_cast<size_t>(t) >= num_classes) continue;
    if (t != p.predicted[i])
      wrong[static_cast<size_t>(t)].push_back(i);
    else if (correct[static_cast<size_t>(t)] < kGalleryPerClass) {
      picked.push_back(i);
      ++correct[static_cast<size_t>(t)];
    }
  }
  std::vector<size_t> misclassified;
  for (size_t round = 0; misclassified.size() < kGalleryMisclassified; ++round) {
    bool any = false;
    for (size_t c = 0; c < num_classes && misclassified.size() < kGalleryMisclassified; ++c)
      if (round < wrong[c].size()) {
        misclassified.push_back(wrong[c][round]);
        any = true;
      }
    if (!any) break;
  }
  std::sort(misclassified.begin(), misclassified.end());
  misclassified.insert(misclassified.end(), picked.begin(), picked.end());
  return misclassified;
}

std::vector<GalleryItem> report_gallery(nn::Module& model, const weights::ModelMeta& meta, const Predictions& test,
                                        Device device, const CamSettings& settings) {
  const std::vector<size_t> picked = gallery_selection(test, meta.class_names.size());
  std::vector<CamInput> inputs;
  for (size_t i : picked) inputs.push_back({test.paths[i], test.truth[i]});
  std::vector<GalleryEntry> entries;
  explain_images(model, meta, inputs, settings, device, [&](CamImage& im) {
    const double scale = static_cast<double>(kGalleryThumbnail) / std::max(im.overlay.width, im.overlay.height);
    const data::Image thumb =
        scale < 1 ? data::resize(im.overlay, std::max(1, static_cast<int>(im.overlay.width * scale + 0.5)),
                                 std::max(1, static_cast<int>(im.overlay.height * scale + 0.5)))
                  : im.overlay;
    const std::vector<uint8_t> jpeg = data::encode_jpeg(thumb, 85);
    char p[16];
    std::snprintf(p, sizeof p, "%.2f", im.probabilities[static_cast<size_t>(im.predicted)]);
    entries.push_back({im.truth, im.predicted, data_uri("image/jpeg", std::string(jpeg.begin(), jpeg.end())),
                       cat(std::filesystem::path(im.path).filename().string(), ": ",
                           meta.class_names[static_cast<size_t>(im.predicted)], " (", p, ")")});
  });
  std::vector<GalleryItem> items;
  for (const GalleryGroup& g : group_gallery(entries, meta.class_names))
    for (const GalleryEntry& e : g.entries) items.push_back({e.image, e.caption, g.title});
  return items;
}

}  // namespace hemo::train
