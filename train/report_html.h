// report.html: one self-contained page per run. Inline CSS and inline SVG (svg_chart.h) only: no
// scripts, no fonts, no external files, no network, so it opens from a mail attachment or an
// air-gapped machine the same way.
//
// Sections, in order: the title and the headline numbers (accuracy, macro F1, Cohen's kappa,
// macro ROC-AUC, images evaluated); the loss and accuracy curves (train solid, validation dashed)
// and the learning rate per epoch, when there are epochs; the confusion matrix as a heatmap; the
// per-class table (precision, recall, specificity, F1, support, AUC, then the macro and weighted
// averages); the image gallery (Grad-CAM overlays), when given; the configuration as a table.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/epoch_log.h"
#include "train/metrics.h"

namespace hemo::train {

struct GalleryItem {
  std::string image;    // a data: URI ("data:image/png;base64,..."), keeping the page self-contained
  std::string caption;  // e.g. "neutrophil -> neutrophil (0.98)"
};

struct ReportData {
  std::string title;
  std::vector<EpochRecord> epochs;  // may be empty (an evaluation)
  Metrics metrics;                  // total == 0: no evaluation sections
  std::vector<GalleryItem> gallery;
  nlohmann::json config;  // an object of (nested) settings, or null
};

// The page as a string. Throws hemo::Error for a gallery image that is not a data: URI.
std::string render_report(const ReportData& data);

// "data:<mime>;base64,<...>" of raw bytes (for gallery images).
std::string data_uri(const std::string& mime, const std::string& bytes);

}  // namespace hemo::train
