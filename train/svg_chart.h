// Inline SVG for report.html: line charts with axes, ticks, grid and legend, and the
// confusion-matrix heatmap. Plain strings in, an <svg> element out; no scripts, no external
// resources, every text escaped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hemo::train {

// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(const std::string& s);

// Tick positions covering [lo, hi] with a step of 1, 2 or 5 times a power of ten, about
// `target` ticks; the first tick is <= lo and the last >= hi. A degenerate range is widened.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

// A tick label with as many decimals as the tick step needs ("0.25", "10").
std::string tick_label(double v, double step);

struct Series {
  std::string name, color;   // color: any SVG color, e.g. "#1f77b4"
  std::vector<double> x, y;  // y may hold NaN: that point is skipped and the line broken there
  bool dashed = false;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 560, height = 320;
  bool y_from_zero = false;   // include 0 in the y range
  bool integer_x = true;      // x ticks at whole numbers (epochs)
};

std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& options);

// Heatmap of a confusion matrix (rows = true, columns = predicted): cells colored by the row
// fraction (recall per cell), labelled with the count and the row percentage, class labels on
// both axes and a color scale. gradient_id must be unique within the page.
std::string svg_confusion_heatmap(const std::vector<std::string>& classes,
                                  const std::vector<std::vector<int64_t>>& confusion,
                                  const std::string& gradient_id = "cm-scale");

// The heatmap's color for a fraction in [0, 1] ("#rrggbb", white to dark blue).
std::string heat_color(double fraction);

}  // namespace hemo::train
