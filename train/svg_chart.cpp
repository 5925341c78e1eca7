#include "train/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace hemo::train {

namespace {

// Coordinates with two decimals keep the page small and the rendering exact enough.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return cat("<text x=\"", num(x), "\" y=\"", num(y), "\"", (attrs.empty() ? "" : " " + attrs), ">", html_escape(s),
             "</text>\n");
}

std::string line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  return cat("<line x1=\"", num(x1), "\" y1=\"", num(y1), "\" x2=\"", num(x2), "\" y2=\"", num(y2), "\" ", attrs,
             "/>\n");
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Linear map of [d0, d1] onto [r0, r1].
struct Scale {
  double d0, d1, r0, r1;
  double operator()(double v) const { return r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
};

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(lo))) {
    const double pad = std::max(std::fabs(lo) * 0.1, 0.5);
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  const double first = std::floor(lo / step + 1e-9) * step;
  const double last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0;; ++i) {
    const double t = first + i * step;
    if (t > last + step * 1e-6) break;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string tick_label(double v, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  // A step such as 0.25 needs one more decimal than its order of magnitude says.
  if (step > 0) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::fabs(scaled - std::round(scaled)) > 1e-6) ++decimals;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // "-0.00" -> "0.00"
  return s;
}

std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& o) {
  const double left = 62, right = 16, top = o.title.empty() ? 14 : 32, bottom = 46;
  const double w = o.width, h = o.height, pw = w - left - right, ph = h - top - bottom;
  Range xr, yr;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      xr.add(s.x[i]);
      yr.add(s.y[i]);
    }
  }
  if (xr.empty()) xr.lo = 0, xr.hi = 1;
  if (yr.empty()) yr.lo = 0, yr.hi = 1;
  if (o.y_from_zero) yr.add(0);
  std::vector<double> xt = nice_ticks(xr.lo, xr.hi, 8);
  if (o.integer_x && xt.size() > 1 && xt[1] - xt[0] < 1) {
    xt.clear();
    const double lo = std::floor(xr.lo), hi = std::max(std::ceil(xr.hi), lo + 1);
    for (double v = lo; v <= hi; ++v) xt.push_back(v);
  }
  const std::vector<double> yt = nice_ticks(yr.lo, yr.hi, 5);
  const Scale sx{xt.front(), xt.back(), left, left + pw};
  const Scale sy{yt.front(), yt.back(), top + ph, top};
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1, ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;

  std::string svg = cat("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"", num(w), "\" height=\"",
                        num(h), "\" viewBox=\"0 0 ", num(w), " ", num(h), "\" role=\"img\" aria-label=\"",
                        html_escape(o.title), "\" font-family=\"sans-serif\" font-size=\"11\">\n");
  if (!o.title.empty()) svg += text(w / 2, 18, o.title, "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\"");
  for (double t : yt) {
    svg += line(left, sy(t), left + pw, sy(t), "stroke=\"#e3e3e3\"");
    svg += text(left - 6, sy(t) + 4, tick_label(t, ystep), "text-anchor=\"end\"");
  }
  // At most ~12 labelled x ticks; the grid keeps every one.
  const size_t every = std::max<size_t>(1, (xt.size() + 11) / 12);
  for (size_t i = 0; i < xt.size(); ++i) {
    svg += line(sx(xt[i]), top, sx(xt[i]), top + ph, "stroke=\"#f0f0f0\"");
    if (i % every == 0) svg += text(sx(xt[i]), top + ph + 15, tick_label(xt[i], xstep), "text-anchor=\"middle\"");
  }
  svg += cat("<rect x=\"", num(left), "\" y=\"", num(top), "\" width=\"", num(pw), "\" height=\"", num(ph),
             "\" fill=\"none\" stroke=\"#888\"/>\n");
  if (!o.x_label.empty()) svg += text(left + pw / 2, h - 8, o.x_label, "text-anchor=\"middle\"");
  if (!o.y_label.empty())
    svg += text(14, top + ph / 2, o.y_label,
                cat("text-anchor=\"middle\" transform=\"rotate(-90 14 ", num(top + ph / 2), ")\""));

  for (const Series& s : series) {
    const std::string stroke = cat("stroke=\"", html_escape(s.color), "\"");
    const std::string dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    std::string points;
    auto flush = [&] {
      if (!points.empty())
        svg += cat("<polyline fill=\"none\" stroke-width=\"2\" ", stroke, dash, " points=\"", points, "\"/>\n");
      points.clear();
    };
    size_t n = std::min(s.x.size(), s.y.size()), finite = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) {
        flush();
        continue;
      }
      if (!points.empty()) points += ' ';
      points += cat(num(sx(s.x[i])), ",", num(sy(s.y[i])));
      ++finite;
    }
    flush();
    if (finite <= 40)  // markers make short runs (and single points) visible
      for (size_t i = 0; i < n; ++i)
        if (std::isfinite(s.y[i]) && std::isfinite(s.x[i]))
          svg += cat("<circle cx=\"", num(sx(s.x[i])), "\" cy=\"", num(sy(s.y[i])), "\" r=\"2.5\" fill=\"",
                     html_escape(s.color), "\"/>\n");
  }
  // Legend at the right, in the upper corner unless the curves end high (accuracy), then in the
  // lower one; a single series is named by the title and needs none.
  if (series.size() < 2) return svg + "</svg>\n";
  double high = 0, n_right = 0;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.y[i]) && sx(s.x[i]) > left + 0.55 * pw) {
        high += sy(s.y[i]) < top + ph / 2 ? 1 : 0;
        n_right += 1;
      }
  const bool at_bottom = n_right > 0 && high / n_right > 0.5;
  double ly = at_bottom ? top + ph - 8 - 15.0 * static_cast<double>(series.size() - 1) : top + 14;
  for (const Series& s : series) {
    const double lx = left + pw - 130;
    svg += line(
        lx, ly - 4, lx + 22, ly - 4,
        cat("stroke=\"", html_escape(s.color), "\" stroke-width=\"2\"", s.dashed ? " stroke-dasharray=\"6 4\"" : ""));
    svg += text(lx + 28, ly, s.name);
    ly += 15;
  }
  return svg + "</svg>\n";
}

std::string heat_color(double f) {
  if (!std::isfinite(f)) f = 0;
  f = std::clamp(f, 0.0, 1.0);
  // white -> light blue -> dark blue
  static const double stops[3][3] = {{255, 255, 255}, {107, 174, 214}, {8, 48, 107}};
  const int seg = f < 0.5 ? 0 : 1;
  const double t = f < 0.5 ? f / 0.5 : (f - 0.5) / 0.5;
  char buf[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = static_cast<int>(std::lround(stops[seg][c] + t * (stops[seg + 1][c] - stops[seg][c])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::string svg_confusion_heatmap(const std::vector<std::string>& classes,
                                  const std::vector<std::vector<int64_t>>& confusion, const std::string& gradient_id) {
  const size_t k = classes.size();
  size_t longest = 4;
  for (const auto& c : classes) longest = std::max(longest, c.size());
  const double cell = k <= 10 ? 58 : 36, label_w = 16 + 7.0 * static_cast<double>(longest);
  const double left = label_w + 22, top = 0.62 * 7.0 * static_cast<double>(longest) + 40;
  const double grid = cell * static_cast<double>(k);
  const double w = left + grid + 90, h = top + grid + 36;
  const std::string gid = html_escape(gradient_id);

  std::string svg =
      cat("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" width=\"", num(w), "\" height=\"", num(h),
          "\" viewBox=\"0 0 ", num(w), " ", num(h),
          "\" role=\"img\" aria-label=\"confusion matrix\" font-family=\"sans-serif\" font-size=\"11\">\n");
  svg += cat("<defs><linearGradient id=\"", gid, "\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
  for (int i = 0; i <= 4; ++i)
    svg += cat("<stop offset=\"", num(i / 4.0), "\" stop-color=\"", heat_color(i / 4.0), "\"/>");
  svg += "</linearGradient></defs>\n";
  svg += text(left + grid / 2, 14, "predicted", "text-anchor=\"middle\" font-weight=\"bold\"");
  svg +=
      text(12, top + grid / 2, "true",
           cat("text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 12 ", num(top + grid / 2), ")\""));
  for (size_t j = 0; j < k; ++j) {
    const double x = left + cell * (static_cast<double>(j) + 0.5);
    svg += text(x, top - 6, classes[j],
                cat("text-anchor=\"start\" transform=\"rotate(-40 ", num(x), " ", num(top - 6), ")\""));
  }
  for (size_t i = 0; i < k; ++i) {
    int64_t row = 0;
    for (size_t j = 0; j < k && j < confusion[i].size(); ++j) row += confusion[i][j];
    const double y = top + cell * static_cast<double>(i);
    svg += text(left - 6, y + cell / 2 + 4, classes[i], "text-anchor=\"end\"");
    for (size_t j = 0; j < k; ++j) {
      const int64_t v = j < confusion[i].size() ? confusion[i][j] : 0;
      const double f = row > 0 ? static_cast<double>(v) / static_cast<double>(row) : 0.0;
      const double x = left + cell * static_cast<double>(j);
      svg += cat("<rect x=\"", num(x), "\" y=\"", num(y), "\" width=\"", num(cell), "\" height=\"", num(cell),
                 "\" fill=\"", heat_color(f), "\" stroke=\"#ffffff\"><title>", html_escape(classes[i]),
                 " predicted as ", html_escape(classes[j]), ": ", std::to_string(v), "</title></rect>\n");
      const std::string ink = f > 0.5 ? "#ffffff" : "#222222";
      svg += text(x + cell / 2, y + cell / 2 - 1, std::to_string(v),
                  cat("text-anchor=\"middle\" fill=\"", ink, "\" font-weight=\"bold\""));
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.0f%%", 100 * f);
      if (cell >= 50)
        svg += text(x + cell / 2, y + cell / 2 + 12, pct,
                    cat("text-anchor=\"middle\" font-size=\"9\" fill=\"", ink, "\""));
    }
  }
  const double bx = left + grid + 24;
  svg += cat("<rect x=\"", num(bx), "\" y=\"", num(top), "\" width=\"14\" height=\"", num(grid), "\" fill=\"url(#", gid,
             ")\" stroke=\"#888\"/>\n");
  svg += text(bx + 18, top + 8, "100%");
  svg += text(bx + 18, top + grid, "0%");
  svg += text(bx + 18, top + grid / 2 + 4, "of row");
  return svg + "</svg>\n";
}

}  // namespace hemo::train
