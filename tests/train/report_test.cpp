// report.html: self-contained (no script, no external reference), escaped, and opened by headless
// Chromium (Debian's `chromium`) without console errors; the screenshot is kept as an artifact
// under the build tree (tests/work/train/report/report.png). Also the SVG helpers' arithmetic.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include "data/encode.h"
#include "data/synth.h"
#include "tests/train/train_test_util.h"
#include "train/report_html.h"
#include "train/run_files.h"
#include "train/svg_chart.h"

using namespace hemo;
using namespace hemo::train;
using hemo::test::shell_quote;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

ReportData sample_report() {
  ReportData d;
  d.title = "pbcnet7 on pbc <test> & \"friends\"";
  for (int e = 1; e <= 12; ++e)
    d.epochs.push_back({e, 2.0 / e, 1 - 0.5 / e, 2.2 / e + 0.05, 1 - 0.6 / e, e < 8 ? 1e-3 : 1e-4, 900.0 + e, 30.0});
  const auto& names = data::synth::class_names();
  std::vector<int64_t> truth, pred;
  std::vector<std::vector<float>> probs;
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 20; ++i) {
      const int p = i < 17 ? c : (c + i) % 8;  // 85% right, the rest spread
      truth.push_back(c);
      pred.push_back(p);
      std::vector<float> row(8, 0.02f);
      row[static_cast<size_t>(p)] = 0.86f;
      probs.push_back(row);
    }
  d.metrics = compute_metrics(truth, pred, probs, names);
  d.metrics.classes[3] = "ig<&>";  // escaping of names that reach the page
  for (int c = 0; c < 3; ++c) {
    const auto png = data::encode_png(data::synth::draw_cell(c, 64, 5, c));
    d.gallery.push_back({data_uri("image/png", std::string(png.begin(), png.end())), names[c] + " -> " + names[c]});
  }
  d.config = {{"model", "pbcnet7"}, {"lr", 1e-3}, {"data", "/data/a&b"}, {"split", {{"train", 0.7}, {"val", 0.2}}}};
  return d;
}

}  // namespace

TEST_CASE("svg helpers: ticks, labels, colors, escaping") {
  CHECK(nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  const auto t = nice_ticks(0.013, 2.31, 6);
  CHECK(t.front() <= 0.013);
  CHECK(t.back() >= 2.31);
  CHECK(t[1] - t[0] == doctest::Approx(0.5));
  const auto flat = nice_ticks(3, 3);
  CHECK(flat.front() < 3);
  CHECK(flat.back() > 3);
  CHECK(tick_label(0.25, 0.25) == "0.25");
  CHECK(tick_label(10, 5) == "10");
  CHECK(tick_label(-0.0000001, 0.1) == "0.0");
  CHECK(heat_color(0) == "#ffffff");
  CHECK(heat_color(1) == "#08306b");
  CHECK(heat_color(2) == "#08306b");  // clamped
  CHECK(html_escape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
  CHECK(data_uri("text/plain", "hem") == "data:text/plain;base64,aGVt");
  CHECK(data_uri("text/plain", "he") == "data:text/plain;base64,aGU=");
  CHECK(data_uri("text/plain", "h") == "data:text/plain;base64,aA==");
}

TEST_CASE("report.html: self-contained, escaped, every section present") {
  const ReportData d = sample_report();
  const std::string html = render_report(d);
  CHECK(count(html, "<svg") == 4);  // loss, accuracy, lr, confusion heatmap
  CHECK(count(html, "<img ") == 3);
  CHECK(html.find("<script") == std::string::npos);
  // The only URL is the SVG namespace name (an identifier, never fetched).
  std::string stripped = std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  CHECK(std::regex_search(stripped, std::regex("[a-z]+://")) == false);
  CHECK(std::regex_search(html, std::regex("src=\"(?!data:image/)")) == false);
  CHECK(html.find("pbc &lt;test&gt; &amp; &quot;friends&quot;") != std::string::npos);
  CHECK(html.find("ig&lt;&amp;&gt;") != std::string::npos);
  CHECK(html.find("ig<&>") == std::string::npos);
  CHECK(html.find("split.train") != std::string::npos);  // nested configuration flattened
  CHECK(html.find("85.00%") != std::string::npos);       // accuracy card
  ReportData bad = d;
  bad.gallery[0].image = "file:///etc/passwd";
  CHECK_THROWS_WITH_AS(render_report(bad), doctest::Contains("not a data:image/ URI"), Error);
}

TEST_CASE("report.html opens in headless Chromium without console errors (screenshot kept)") {
  const auto dir = test::train_work_dir("report");
  RunFiles files(dir.string(), false);
  const ReportData d = sample_report();
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : d.epochs) history.push_back(to_json(e));
  files.write_report(d.config, history, d.metrics, d.title, d.gallery);
  const std::string report = files.path("report.html");
  const std::string png = (dir / "report.png").string();
  std::filesystem::remove(png);

  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
      "--hide-scrollbars --enable-logging=stderr --v=0 --window-size=1280,2600 ";
  std::string out, err;
  int rc = test::run_command(chromium + "--screenshot=" + shell_quote(png) + " " + shell_quote("file://" + report),
                             &out, &err);
  REQUIRE_MESSAGE(rc == 0, "chromium failed (Debian package `chromium` needed):\n", err);
  REQUIRE(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 20000);
  // Console messages (errors, CSP violations, failed loads) are logged as "CONSOLE" lines.
  CHECK_MESSAGE(err.find("CONSOLE") == std::string::npos, "console output:\n", err);
  CHECK_MESSAGE(err.find("Refused") == std::string::npos, err);
  MESSAGE("report screenshot: ", png, " (", std::filesystem::file_size(png), " bytes)");

  // The browser parsed the page into the expected elements.
  rc = test::run_command(chromium + "--dump-dom " + shell_quote("file://" + report), &out, &err);
  REQUIRE(rc == 0);
  CHECK(count(out, "<svg") == 4);
  CHECK(count(out, "<polyline") == 5);  // train + val loss, train + val accuracy, lr
  CHECK(count(out, "<img") == 3);
  CHECK(out.find("Per-class metrics") != std::string::npos);

  // The console check can fail: a page with a script error is reported.
  const std::string broken = (dir / "broken.html").string();
  std::ofstream(broken) << "<html><body><script>undefinedFunction();</script></body></html>\n";
  rc = test::run_command(chromium + "--dump-dom " + shell_quote("file://" + broken), &out, &err);
  CHECK(err.find("CONSOLE") != std::string::npos);
}
