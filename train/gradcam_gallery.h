// Galleries of Grad-CAM overlays grouped by true and predicted class, misclassified first: the
// page `hemo gradcam` writes beside its images (index.html), and the order and group titles of
// report.html's gallery of test images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hemo::train {

struct GalleryEntry {
  int64_t truth = -1;  // -1: unknown
  int64_t predicted = 0;
  std::string image;    // the <img> source: a relative path or a data: URI
  std::string caption;  // plain text
};

struct GalleryGroup {
  std::string title;  // plain text, e.g. "true eosinophil, predicted neutrophil: misclassified (3)"
  bool misclassified = false;
  std::vector<GalleryEntry> entries;  // in input order
};

// One group per (true, predicted) pair present: the misclassified pairs first (by true class,
// then predicted class), then the correct ones by class, then images whose true class is unknown,
// by predicted class. Class indices outside class_names are an Error.
std::vector<GalleryGroup> group_gallery(const std::vector<GalleryEntry>& entries,
                                        const std::vector<std::string>& class_names);

// A self-contained HTML page (inline CSS, no scripts) showing the groups in order.
std::string gallery_page(const std::string& title, const std::string& subtitle, const std::vector<GalleryGroup>& groups);

}  // namespace hemo::train
