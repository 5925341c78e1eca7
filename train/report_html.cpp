#include "train/report_html.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/error.h"
#include "train/svg_chart.h"

namespace hemo::train {

namespace {

const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px auto; max-width: 1180px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.sub { color: #666; font-size: 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.card .v { font-size: 22px; font-weight: bold; } .card .k { font-size: 12px; color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.avg td { font-style: italic; background: #f8f8f8; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
.gallery figure { margin: 0; width: 180px; font-size: 11px; text-align: center; }
.gallery img { width: 180px; height: 180px; object-fit: contain; border: 1px solid #ddd; }
)";

std::string fmt(double v, const char* spec = "%.4f") {
  if (!std::isfinite(v)) return "n/a";
  char buf[48];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

std::string percent(double v) { return std::isfinite(v) ? fmt(100 * v, "%.2f") + "%" : "n/a"; }

std::string card(const std::string& key, const std::string& value) {
  return cat("<div class=\"card\"><div class=\"v\">", html_escape(value), "</div><div class=\"k\">", html_escape(key),
             "</div></div>\n");
}

std::string metric_row(const std::string& name, double p, double r, double s, double f, int64_t support, double auc,
                       const char* cls = "") {
  const std::string row_class = *cls ? cat(" class=\"", cls, "\"") : std::string();
  return cat("<tr", row_class, "><td>", html_escape(name), "</td><td>", fmt(p), "</td><td>", fmt(r), "</td><td>",
             fmt(s), "</td><td>", fmt(f), "</td><td>", support, "</td><td>", fmt(auc), "</td></tr>\n");
}

std::string curves(const std::vector<EpochRecord>& epochs) {
  std::vector<double> x;
  std::vector<double> tl, vl, ta, va, lr;
  for (const EpochRecord& e : epochs) {
    x.push_back(e.epoch);
    tl.push_back(e.train_loss);
    vl.push_back(e.val_loss);
    ta.push_back(e.train_acc);
    va.push_back(e.val_acc);
    lr.push_back(e.lr);
  }
  const std::string blue = "#1f77b4", orange = "#ff7f0e";
  ChartOptions loss{"Loss", "epoch", "cross-entropy"};
  loss.y_from_zero = true;
  ChartOptions acc{"Accuracy", "epoch", "accuracy"};
  ChartOptions rate{"Learning rate", "epoch", "lr"};
  rate.width = 380;
  rate.y_from_zero = true;
  std::string out = "<h2>Training curves</h2>\n<div class=\"charts\">\n";
  out += svg_line_chart({{"train", blue, x, tl, false}, {"validation", orange, x, vl, true}}, loss);
  out += svg_line_chart({{"train", blue, x, ta, false}, {"validation", orange, x, va, true}}, acc);
  out += svg_line_chart({{"lr", "#2ca02c", x, lr, false}}, rate);
  return out + "</div>\n";
}

std::string per_class_table(const Metrics& m) {
  std::string out =
      "<table class=\"per-class\">\n<tr><th>class</th><th>precision</th><th>recall (sensitivity)</th>"
      "<th>specificity</th><th>F1</th><th>support</th><th>ROC-AUC</th></tr>\n";
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    out += metric_row(m.classes[c], cm.precision, cm.recall, cm.specificity, cm.f1, cm.support, cm.auc);
  }
  out += metric_row("macro avg", m.macro_precision, m.macro_recall, m.macro_specificity, m.macro_f1, m.total,
                    m.macro_auc, "avg");
  out += metric_row("weighted avg", m.weighted_precision, m.weighted_recall, m.weighted_specificity, m.weighted_f1,
                    m.total, m.weighted_auc, "avg");
  return out + "</table>\n";
}

// Nested objects flatten to dotted keys.
void config_rows(const nlohmann::json& j, const std::string& prefix, std::string& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object()) {
      config_rows(*it, key, out);
      continue;
    }
    const std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    out += cat("<tr><td>", html_escape(key), "</td><td style=\"text-align:left\">", html_escape(value), "</td></tr>\n");
  }
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

std::string data_uri(const std::string& mime, const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = cat("data:", mime, ";base64,");
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string render_report(const ReportData& d) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No network, ever: the page says so to the browser too.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n";
  out += cat("<title>", html_escape(d.title), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n");
  out += cat("<h1>", html_escape(d.title), "</h1>\n<div class=\"sub\">hemo report, ", now_utc(), "</div>\n");

  const Metrics& m = d.metrics;
  const bool evaluated = m.total > 0;
  out += "<div class=\"cards\">\n";
  if (evaluated) {
    out += card("accuracy", percent(m.accuracy));
    out += card("macro F1", fmt(m.macro_f1));
    out += card("Cohen's kappa", fmt(m.kappa));
    out += card("macro ROC-AUC", fmt(m.macro_auc));
    out += card("images evaluated", std::to_string(m.total));
  }
  const std::string evaluated_on =
      m.evaluated_on.empty() ? "" : cat("<p class=\"sub\">Evaluated on ", html_escape(m.evaluated_on), ".</p>\n");
  if (!d.epochs.empty()) {
    out += card("epochs", std::to_string(d.epochs.back().epoch));
    double seconds = 0;
    for (const EpochRecord& e : d.epochs) seconds += std::isfinite(e.seconds) ? e.seconds : 0;
    out += card("training time", fmt(seconds, "%.0f") + " s");
  }
  out += "</div>\n";

  if (!d.epochs.empty()) out += curves(d.epochs);
  if (evaluated) {
    out += "<h2>Confusion matrix</h2>\n" + evaluated_on;
    out +=
        "<p class=\"sub\">Rows: true class; columns: predicted class; colour: the "
        "fraction of the row.</p>\n";
    out += svg_confusion_heatmap(m.classes, m.confusion);
    out += cat("<h2>Per-class metrics</h2>\n", per_class_table(m));
    out += cat("<p>Accuracy ", fmt(m.accuracy), " on ", std::to_string(m.total), " images; Cohen's kappa ",
               fmt(m.kappa), ". Specificity is one-vs-rest; a ratio whose denominator is 0 is reported as 0.</p>\n");
  }
  if (!d.gallery.empty()) {
    out += "<h2>Gallery</h2>\n";
    for (size_t i = 0; i < d.gallery.size(); ++i) {
      const GalleryItem& g = d.gallery[i];
      if (i == 0 || g.group != d.gallery[i - 1].group) {
        if (i > 0) out += "</div>\n";
        if (!g.group.empty()) out += cat("<h3>", html_escape(g.group), "</h3>\n");
        out += "<div class=\"gallery\">\n";
      }
      HEMO_CHECK(g.image.rfind("data:image/", 0) == 0, "report: gallery image '", g.image.substr(0, 40),
                 "' is not a data:image/ URI; report.html must not reference other files");
      out += cat("<figure><img src=\"", html_escape(g.image), "\" alt=\"", html_escape(g.caption), "\"><figcaption>",
                 html_escape(g.caption), "</figcaption></figure>\n");
    }
    out += "</div>\n";
  }
  if (d.config.is_object() && !d.config.empty()) {
    out += "<h2>Configuration</h2>\n<table class=\"config\">\n";
    config_rows(d.config, "", out);
    out += "</table>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace hemo::train
