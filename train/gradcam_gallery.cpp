#include "train/gradcam_gallery.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/error.h"
#include "train/svg_chart.h"  // html_escape

namespace hemo::train {

std::vector<GalleryGroup> group_gallery(const std::vector<GalleryEntry>& entries,
                                        const std::vector<std::string>& class_names) {
  const int64_t k = static_cast<int64_t>(class_names.size());
  // Sort key: (rank, truth, predicted); rank 0 misclassified, 1 correct, 2 unknown truth.
  std::map<std::tuple<int, int64_t, int64_t>, GalleryGroup> groups;
  for (const GalleryEntry& e : entries) {
    HEMO_CHECK(e.predicted >= 0 && e.predicted < k && e.truth >= -1 && e.truth < k, "gallery: class index out of range (",
               e.truth, ", ", e.predicted, ") for ", k, " classes");
    const int rank = e.truth < 0 ? 2 : (e.truth != e.predicted ? 0 : 1);
    GalleryGroup& g = groups[{rank, e.truth, e.predicted}];
    g.misclassified = rank == 0;
    g.entries.push_back(e);
  }
  std::vector<GalleryGroup> out;
  for (auto& [key, g] : groups) {
    const auto& [rank, truth, predicted] = key;
    const std::string& p = class_names[static_cast<size_t>(predicted)];
    const std::string count = cat(" (", g.entries.size(), ")");
    if (rank == 0)
      g.title = cat("true ", class_names[static_cast<size_t>(truth)], ", predicted ", p, ": misclassified", count);
    else if (rank == 1)
      g.title = cat(p, ": correct", count);
    else
      g.title = cat("predicted ", p, ": true class unknown", count);
    out.push_back(std::move(g));
  }
  return out;
}

std::string gallery_page(const std::string& title, const std::string& subtitle, const std::vector<GalleryGroup>& groups) {
  std::string out = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>)" +
                    html_escape(title) + R"(</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
h2 { font-size: 16px; margin: 22px 0 8px; }
h2.miss { color: #b00020; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: 200px; font-size: 11px; text-align: center; overflow-wrap: anywhere; }
figure img { width: 200px; height: 200px; object-fit: contain; border: 1px solid #ddd; }
</style></head><body>
)";
  out += "<h1>" + html_escape(title) + "</h1>\n";
  if (!subtitle.empty()) out += "<p>" + html_escape(subtitle) + "</p>\n";
  for (const GalleryGroup& g : groups) {
    out += cat("<h2", g.misclassified ? " class=\"miss\"" : "", ">", html_escape(g.title), "</h2>\n<div class=\"gallery\">\n");
    for (const GalleryEntry& e : g.entries)
      out += "<figure><img src=\"" + html_escape(e.image) + "\" alt=\"\"><figcaption>" + html_escape(e.caption) +
             "</figcaption></figure>\n";
    out += "</div>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace hemo::train
